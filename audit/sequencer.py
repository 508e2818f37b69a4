"""The sequencer: gives committed entries their leaf indices, stores the tree's subtree hashes,
and signs checkpoints.

One sequencer runs at a time. On PostgreSQL every run takes a transaction-level advisory lock
and gives way if another process holds it, so any number of hub processes may each run one;
on SQLite the database's single writer serialises them. Entries are sequenced in the order of
their ids among those committed when the run starts; one committed later gets a later index.

A checkpoint (C2SP tlog-checkpoint, Ed25519 signed note, key from the key set) is issued when
the tree has grown and `interval` seconds have passed since the last one, so while entries
arrive there is a fresh signed root every few seconds (DESIGN.md, "The disclosure log").
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from audit import checkpoint, merkle, tree
from audit.log import as_disclosure
from audit.models import AuditCheckpoint, AuditLeaf, AuditNode, AuditPending, DisclosureEntry
from hub.database import copy_rows, dialect_of, one_of
from hub.vault import KeySet

LOCK = 0x6175_6469_745F_7371  # "audit_sq": the advisory-lock key of the single sequencer
BATCH = 5000
_ENTRIES = cast(Table, DisclosureEntry.__table__)
_LEAVES = cast(Table, AuditLeaf.__table__)
_NODES = cast(Table, AuditNode.__table__)


@dataclass(frozen=True)
class Run:
    """What one run did."""

    sequenced: int
    size: int
    checkpoint: AuditCheckpoint | None
    skipped: bool = False
    """Another sequencer held the lock; this run did nothing."""


async def _take_lock(session: AsyncSession) -> bool:
    if dialect_of(session) != "postgresql":
        return True
    taken = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK})
    return bool(taken)


async def _sequence_batch(session: AsyncSession, size: int, now: dt.datetime, ceiling: int) -> int:
    pending = list(
        await session.scalars(
            select(AuditPending.entry_id)
            .where(AuditPending.entry_id <= ceiling)
            .order_by(AuditPending.entry_id)
            .limit(BATCH)
        )
    )
    if not pending:
        return 0
    rows = await session.execute(select(_ENTRIES).where(one_of(session, _ENTRIES.c.id, pending)))
    entries = {row.id: row for row in rows}
    stored = await tree.subtree_hashes(session, merkle.root_subtrees(size))
    # Plain rows, and the hashing in a worker thread: re-validating, canonicalising and
    # hashing a second's entries, and the tree's new nodes, is tens of milliseconds of CPU;
    # on the event loop it held up every request of the process that ran the sequencer (the
    # slowest 1% of verifies, benchmarks/RESULTS.md, issue 5). In a thread the loop takes
    # its turns.
    nodes = await asyncio.to_thread(_nodes, [entries[i] for i in pending], size, stored)
    # Bulk rows, not the ORM's bulk INSERT: a second's leaves and nodes through the ORM were
    # about 10 ms of the serving process's CPU per run.
    await copy_rows(
        session,
        _LEAVES,
        ("leaf_index", "entry_id", "sequenced_at"),
        [(size + offset, entry_id, now) for offset, entry_id in enumerate(pending)],
    )
    await copy_rows(
        session,
        _NODES,
        ("level", "position", "hash"),
        [(*tree.node_key(subtree), digest) for subtree, digest in nodes.items()],
    )
    await session.execute(
        delete(AuditPending).where(one_of(session, AuditPending.entry_id, pending))
    )
    return len(pending)


def _nodes(
    rows: list[Row[Any]], size: int, stored: dict[merkle.Range, bytes]
) -> dict[merkle.Range, bytes]:
    """The nodes that appending the entries (in order) to the tree of `size` leaves adds;
    a leaf is SHA-256(0x00 ‖ the entry's RFC 8785 form), RFC 9162."""
    leaves = [merkle.leaf_hash(as_disclosure(row).canonical()) for row in rows]
    return merkle.append_subtrees(size, leaves, stored)


async def sign_checkpoint(
    session: AsyncSession, keyset: KeySet, origin: str, size: int, now: dt.datetime
) -> AuditCheckpoint:
    """Sign and store the checkpoint of the tree at `size`."""
    root = await tree.root(session, size)
    body = checkpoint.format_body(checkpoint.Checkpoint(origin=origin, size=size, root=root))
    signer = keyset.log_signing_key()
    row = AuditCheckpoint(
        size=size,
        root=root,
        note=checkpoint.sign(body, origin, signer.private_key),
        key_id=signer.kid,
        issued_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def run(
    session: AsyncSession,
    keyset: KeySet,
    *,
    origin: str,
    now: dt.datetime,
    interval: float,
    force_checkpoint: bool = False,
) -> Run:
    """Sequence everything pending, then checkpoint if due. The caller commits."""
    if not await _take_lock(session):
        return Run(sequenced=0, size=0, checkpoint=None, skipped=True)
    size = await tree.size(session)
    sequenced = 0
    # Only what was pending when the run began: under a steady stream of entries a run that
    # also took each newly committed one would never end, and its checkpoint (signed at the
    # end, visible at commit) would never appear. Later entries are the next run's.
    ceiling = await session.scalar(select(func.max(AuditPending.entry_id)))
    while ceiling is not None and (done := await _sequence_batch(session, size, now, ceiling)):
        size += done
        sequenced += done
    last = await tree.latest_checkpoint(session)
    due = last is None or (
        size > last.size
        and (force_checkpoint or (now - last.issued_at).total_seconds() >= interval)
    )
    signed = None
    if size > 0 and due and (last is None or size > last.size):
        signed = await sign_checkpoint(session, keyset, origin, size, now)
    return Run(sequenced=sequenced, size=size, checkpoint=signed)
