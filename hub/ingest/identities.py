"""Who a chunk's rows are, as the key vault sees them, worked out where the chunk is mapped.

For each distinct RRN of a chunk: its blind-index digests under every usable key (to find the
person), and, in case the person is new, a fresh person id and the RRN sealed for that id. Done
next to the mapping (in the mapping process for a large file, hub.ingest.mapping_process), so
the process that writes only looks the digests up and copies rows. Sealing every RRN, not only
the new ones, costs the mapping side about 2 µs a person and spares the writer a round of
cryptography after its lookup.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from asyncpg.pgproto.pgproto import UUID

from connectors.mapper import Staged
from hub.kit.ids import new_uuids
from hub.vault import RrnSealer


@dataclass(frozen=True, slots=True, repr=False)
class People:
    """A chunk's distinct persons, in first-seen order."""

    rrns: list[str]
    """Canonical RRNs (never shown: see `__repr__`)."""
    digests: list[tuple[str, list[bytes]]]
    """Per usable blind-index key, primary first: (kid, digest of each RRN)."""
    ids: bytes
    """16 bytes per RRN: the id the person gets if new."""
    seal_kid: str
    sealed: list[bytes]
    """Each RRN sealed for its id."""

    def __repr__(self) -> str:
        return f"People({len(self.rrns)} persons)"

    def id_of(self, index: int) -> uuid.UUID:
        return UUID(self.ids[16 * index : 16 * (index + 1)])


def identify(sealer: RrnSealer, rows: Sequence[Staged]) -> People:
    """The distinct persons of `rows` with their digests, would-be ids and sealed RRNs."""
    rrns = list(dict.fromkeys(row.rrn for row in rows))
    ids = new_uuids(len(rrns))
    sealed = sealer.seal(rrns, ids)
    return People(
        rrns=rrns,
        digests=sealer.digests(rrns),
        ids=b"".join(i.bytes for i in ids),
        seal_kid=sealer.seal_kid,
        sealed=[s.blob for s in sealed],
    )
