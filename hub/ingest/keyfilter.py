"""A bounded filter over the record keys a file has met, to spare most lookups of them.

Two things are remembered per file this way (hub.ingest.pipeline): on a source's first load on
SQLite, the keys the file has written (so a chunk looks up only the keys it may have written
before, `Ingestion._first_load_keys`); and on every load, the keys it found unchanged
(hub.ingest.unchanged). In both, the filter only says which keys are worth an exact lookup.

The filter has one hash per key and a fixed size, so its memory is bounded whatever the file's
size: a key not added always answers "not added" unless its bit was set by another key. Such a
false "maybe" costs a lookup that finds nothing; a key added always answers "maybe". At 2^26
bits (8 MiB), one key in a hundred is a false "maybe" after 670,000 keys, one in seven after
ten million. The hash is Python's own, salted per process, so a file cannot be built to
collide.
"""

from __future__ import annotations

from collections.abc import Iterable

BITS = 1 << 26


class KeyFilter:
    """A one-hash bit filter over keys: which of them may have been added."""

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
        """Those of `keys` that may have been added: every one that was, and a few others."""
        bits, mask = self._bits, self._mask
        return [k for k in keys if bits[(h := hash(k) & mask) >> 3] & (1 << (h & 7))]
