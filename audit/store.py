"""Reading the sequenced log back in leaf order, for the offline verifier and the export.

Each leaf is read as an auditor would see it: the entry row, re-validated and dumped as the JSON
object whose RFC 8785 canonical form is the leaf's data (audit.log.as_disclosure), and the leaf
hash the sequencer stored beside it (``audit_nodes`` level 0). Rows stream through a
server-side cursor in batches (``yield_per``), so memory stays flat however long the log is.

Outer joins keep a leaf whose entry or stored hash has gone missing: the verifier must see the
hole to name it. An entry that no longer validates (someone edited a column by hand) is passed
on as its raw column values; it cannot hash to the stored leaf, so it is named as altered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import prune
from audit.log import as_disclosure
from audit.models import AuditCheckpoint, AuditLeaf, AuditNode, DisclosureEntry
from audit.verify import Report, SignedCheckpoint, Verifier

BATCH = 2000

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class StoredLeaf:
    """A leaf as stored: its index, its entry as a JSON object, the stored leaf hash."""

    index: int
    entry: JsonObject | None
    leaf_hash: bytes | None

    @property
    def canonical(self) -> bytes | None:
        """The leaf's data: the entry's RFC 8785 canonical JSON (as Disclosure.canonical)."""
        return None if self.entry is None else rfc8785.dumps(self.entry)


def _as_stored(row: DisclosureEntry) -> JsonObject:
    """The row's raw values, for an entry that no longer validates."""
    values: JsonObject = {}
    for column in DisclosureEntry.__table__.columns:
        if column.key == "id":
            continue
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return values


def entry_object(row: DisclosureEntry) -> JsonObject:
    """The entry as the JSON object the Merkle leaf commits to."""
    try:
        return as_disclosure(row).model_dump(mode="json")
    except ValidationError:
        return _as_stored(row)


async def count(session: AsyncSession) -> int:
    """How many leaves are stored (for a progress bar)."""
    return int(await session.scalar(select(func.count()).select_from(AuditLeaf)) or 0)


async def checkpoints(session: AsyncSession) -> list[SignedCheckpoint]:
    """Every stored checkpoint note with the size it is stored under, smallest first."""
    rows = await session.execute(
        select(AuditCheckpoint.note, AuditCheckpoint.size).order_by(AuditCheckpoint.size)
    )
    return [SignedCheckpoint(note, int(size)) for note, size in rows.all()]


async def leaves(session: AsyncSession) -> AsyncGenerator[StoredLeaf, None]:
    """Every stored leaf in index order, streamed in batches of `BATCH` rows."""
    statement = (
        select(AuditLeaf.leaf_index, DisclosureEntry, AuditNode.hash)
        .select_from(AuditLeaf)
        .outerjoin(DisclosureEntry, DisclosureEntry.id == AuditLeaf.entry_id)
        .outerjoin(
            AuditNode, and_(AuditNode.level == 0, AuditNode.position == AuditLeaf.leaf_index)
        )
        .order_by(AuditLeaf.leaf_index)
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(statement)
    try:
        async for index, row, digest in result:
            yield StoredLeaf(int(index), None if row is None else entry_object(row), digest)
    finally:
        await result.close()


async def verify_database(
    session: AsyncSession,
    origin: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    extra_checkpoints: list[SignedCheckpoint] | None = None,
    on_leaf: Callable[[], None] | None = None,
) -> Report:
    """Verify the log as stored (audit.verify), with any checkpoints kept outside the hub.

    The checkpoints are read before the leaves: the log only grows, so every checkpoint read
    covers leaves that the later read still finds, even while a sequencer runs. A pruned log
    is verified from the checkpoint it was pruned at (audit.prune).
    """
    notes = await checkpoints(session) + list(extra_checkpoints or [])
    verifier = Verifier(notes, origin, keys, pruned=await prune.pruned_prefix(session))
    if verifier.failed:
        return verifier.finish()
    async with aclosing(leaves(session)) as stream:
        async for leaf in stream:
            if not verifier.add(leaf.index, leaf.canonical, leaf.leaf_hash):
                break
            if on_leaf is not None:
                on_leaf()
    return verifier.finish()
