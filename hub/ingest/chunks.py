"""A chunk of a file: its rows mapped (or rejected) and its persons identified, the unit the
pipeline writes in one go. The same function makes chunks in a worker thread (small files)
and in the mapping process (large ones, hub.ingest.mapping_process)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, NamedTuple

from connectors.mapper import Mapper, Rejection, Staged
from connectors.readers.base import RawRow
from hub.ingest.identities import People, identify
from hub.vault import RrnSealer


class Chunk(NamedTuple):
    items: list[Staged | Rejection]
    people: People
    """The distinct persons of the chunk's accepted rows."""
    position: int | None = None
    """Bytes of the file read so far, when known (for progress)."""


def next_chunk(
    rows: Iterator[RawRow], mapper: Mapper, sealer: RrnSealer, size: int
) -> Chunk | None:
    """Up to `size` rows from `rows`, mapped and identified; None when `rows` is exhausted."""
    # Read the chunk, then map it (`Mapper.stage_all`): each step's code stays in the
    # processor's caches for the whole chunk instead of taking turns with the others per row.
    items = mapper.stage_all(list(itertools.islice(rows, size)))
    if not items:
        return None
    return Chunk(items, identify(sealer, [i for i in items if isinstance(i, Staged)]))


Packed = tuple[list["tuple[Any, ...] | Rejection"], People, int | None]
"""A chunk as it crosses the pipe from the mapping process: its accepted rows as plain tuples."""
_new_tuple = tuple.__new__


def pack(chunk: Chunk) -> Packed:
    """`chunk` with its accepted rows as plain tuples. Pickle builds a named tuple through a
    Python call each way (`__getnewargs__`, `__new__`); a plain tuple it copies in C, which
    halves the time to send a chunk and spares the writer a third of the time to receive it
    (benchmarks/RESULTS.md, issue 3)."""
    items = [tuple(item) if type(item) is Staged else item for item in chunk.items]
    return items, chunk.people, chunk.position


def unpack(packed: Packed) -> Chunk:
    items, people, position = packed
    return Chunk(
        [_new_tuple(Staged, item) if type(item) is tuple else item for item in items],
        people,
        position,
    )
