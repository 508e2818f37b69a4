"""Reading the sequenced tree: size, roots and proofs from stored subtree hashes.

Every range a root or a proof of a tree of size n needs is composed of at most ⌊log2 n⌋ + 1
perfect aligned subtrees (audit.merkle.range_subtrees), so each answer is one indexed query,
however large the log grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from audit import merkle
from audit.models import AuditCheckpoint, AuditNode

Range = tuple[int, int]


def node_key(subtree: Range) -> tuple[int, int]:
    """(level, position) of the perfect aligned subtree [start, end)."""
    start, end = subtree
    level = (end - start).bit_length() - 1
    return level, start >> level


def node_range(level: int, position: int) -> Range:
    return position << level, (position + 1) << level


async def size(session: AsyncSession) -> int:
    """How many entries have been sequenced: read from the leaf hashes, which stay when the
    log's oldest entries (and their `audit_leaves` rows) are pruned (audit.prune)."""
    last = await session.scalar(select(func.max(AuditNode.position)).where(AuditNode.level == 0))
    return 0 if last is None else int(last) + 1


async def subtree_hashes(
    session: AsyncSession, ranges: Iterable[Range], known: Mapping[Range, bytes] | None = None
) -> dict[Range, bytes]:
    """The stored hashes of `ranges` (perfect aligned subtrees), plus `known` ones."""
    found = dict(known or {})
    wanted = sorted({node_key(r) for r in ranges if r not in found})
    if wanted:
        rows = await session.execute(
            select(AuditNode.level, AuditNode.position, AuditNode.hash).where(
                tuple_(AuditNode.level, AuditNode.position).in_(wanted)
            )
        )
        for level, position, digest in rows.all():
            found[node_range(level, position)] = digest
    return found


async def range_hashes(session: AsyncSession, ranges: list[Range]) -> list[bytes]:
    """MTH of each range, composed from stored subtrees read in one query."""
    needed = [s for start, end in ranges for s in merkle.range_subtrees(start, end)]
    stored = await subtree_hashes(session, needed)
    return [merkle.range_hash(start, end, stored) for start, end in ranges]


async def root(session: AsyncSession, tree_size: int) -> bytes:
    return (await range_hashes(session, [(0, tree_size)]))[0]


async def leaf_hash(session: AsyncSession, index: int) -> bytes | None:
    return await session.scalar(
        select(AuditNode.hash).where(AuditNode.level == 0, AuditNode.position == index)
    )


async def inclusion_proof(session: AsyncSession, index: int, tree_size: int) -> list[bytes]:
    """PATH(index, D[tree_size]) (RFC 9162 §2.1.3.1)."""
    return await range_hashes(session, merkle.inclusion_proof_ranges(index, tree_size))


async def consistency_proof(session: AsyncSession, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[new]) (RFC 9162 §2.1.4.1)."""
    return await range_hashes(session, merkle.consistency_proof_ranges(old, new))


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    return await session.scalar(
        select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
    )
