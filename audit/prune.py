"""Retention of the disclosure log over whole checkpointed ranges (DESIGN.md, "The disclosure
log"; README "Retention of the disclosure log").

Entries are never updated, and removed only as a prefix of the log that a signed checkpoint
ends: the entries of leaves [0, size), once an export holding them has been verified and
archived (`hub audit prune`, which checks the export first). What stays is everything the tree
needs: every stored subtree hash (`audit_nodes`, about 100 bytes a leaf against about 600 for
an entry) and every checkpoint, so roots, inclusion and consistency proofs are still answered,
and `hub audit verify` starts from the checkpoint at the pruned size, seeded with the hashes
of the perfect subtrees that compose the prefix (audit.verify.Pruned). Each pruning is recorded
(`audit_prunings`) with the root it ends at and the archive's SHA-256.

Other tables that point at entries (alert deliveries) are the caller's to clear first: this
module only knows the log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import merkle, tree
from audit.models import AuditCheckpoint, AuditLeaf, AuditPruning, DisclosureEntry
from audit.verify import Pruned

BATCH = 5000
"""Leaves removed per statement group: bounded memory and statement size on a large log."""


class PruneError(ValueError):
    """The pruning asked for is not allowed. Messages name sizes only."""


@dataclass(frozen=True)
class Plan:
    """Remove the entries of leaves [start, size): start is where an earlier pruning ended."""

    start: int
    size: int
    root: bytes


async def pruned_size(session: AsyncSession) -> int:
    """Leaves before this index have no entry any more (0 if the log was never pruned)."""
    return int(await session.scalar(select(func.max(AuditPruning.size))) or 0)


async def pruned_prefix(session: AsyncSession) -> Pruned | None:
    """What verification starts from in a pruned log: the pruned size and the stored hashes of
    the perfect subtrees that compose the prefix; None if nothing was pruned."""
    size = await pruned_size(session)
    if size == 0:
        return None
    subtrees = await tree.subtree_hashes(session, merkle.root_subtrees(size))
    return Pruned(size, subtrees)


async def plan(session: AsyncSession, size: int) -> Plan:
    """Check that the log may be pruned up to `size`: a stored checkpoint signs that size, and
    an earlier pruning did not already go that far."""
    start = await pruned_size(session)
    if size <= start:
        raise PruneError(f"the log is already pruned before index {start}")
    root = await session.scalar(select(AuditCheckpoint.root).where(AuditCheckpoint.size == size))
    if root is None:
        raise PruneError(
            f"no checkpoint signs size {size}: a log is pruned only up to a checkpoint"
        )
    return Plan(start, size, root)


async def entry_ids(session: AsyncSession, start: int, end: int) -> list[int]:
    """The ids of the entries of leaves [start, end)."""
    rows = await session.scalars(
        select(AuditLeaf.entry_id).where(AuditLeaf.leaf_index >= start, AuditLeaf.leaf_index < end)
    )
    return [int(i) for i in rows]


async def remove(session: AsyncSession, start: int, end: int, ids: list[int]) -> None:
    """Delete the leaves [start, end) and their entries (`ids`, from `entry_ids`); the
    subtree hashes stay."""
    await session.execute(
        delete(AuditLeaf).where(AuditLeaf.leaf_index >= start, AuditLeaf.leaf_index < end)
    )
    if ids:
        await session.execute(delete(DisclosureEntry).where(DisclosureEntry.id.in_(ids)))


async def record(
    session: AsyncSession, plan: Plan, *, archive_sha256: str, entries: int, now: dt.datetime
) -> AuditPruning:
    row = AuditPruning(
        size=plan.size,
        root=plan.root,
        archive_sha256=archive_sha256,
        entries=entries,
        pruned_at=now,
    )
    session.add(row)
    await session.flush()
    return row
