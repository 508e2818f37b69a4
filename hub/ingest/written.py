"""The record keys a file has written so far, for a source's first load on SQLite.

Each chunk asks the store what it holds for the chunk's keys (`records.stored_versions`): a key
stored before is unchanged, an update, or a repeat in the same file. When the source had
nothing stored as its file began, the only keys the store can hold are those this file wrote in
earlier chunks, and for most files there are none: the lookup then finds nothing for every
chunk, and cost about a tenth of a large first load (benchmarks/RESULTS.md, issue 3). So the
file's keys are remembered in a bit filter, and only the keys it may have written before are
looked up. (Not on PostgreSQL, whose planner mistakes such small lookups for cheap scans:
hub.ingest.pipeline.Ingestion._first_load_keys.)

The filter has one hash per key and a fixed size, so its memory is bounded whatever the file's
size: a key not written always answers "not written" unless its bit was set by another key.
Such a false "maybe" costs a lookup that finds nothing; a key written always answers "maybe".
At 2^26 bits (8 MiB), one key in a hundred is a false "maybe" after 670,000 keys, one in seven
after ten million. The hash is Python's own, salted per process, so a file cannot be built to
collide.
"""

from __future__ import annotations

from collections.abc import Iterable

BITS = 1 << 26


class WrittenKeys:
    """A one-hash bit filter over the keys a file wrote (its source's first load)."""

    def __init__(self, bits: int | None = None) -> None:
        bits = BITS if bits is None else bits
        if bits <= 0 or bits & (bits - 1):
            raise ValueError("the filter's size must be a power of two")
        self._mask = bits - 1
        self._bits = bytearray(bits >> 3)

    def add(self, keys: Iterable[str]) -> None:
        bits, mask = self._bits, self._mask
        for key in keys:
            h = hash(key) & mask
            bits[h >> 3] |= 1 << (h & 7)

    def maybe(self, keys: Iterable[str]) -> list[str]:
        """Those of `keys` the file may have written: every one it did, and a few it did not."""
        bits, mask = self._bits, self._mask
        return [k for k in keys if bits[(h := hash(k) & mask) >> 3] & (1 << (h & 7))]
