"""A bounded filter over the record keys a file has met, to spare most lookups of them.

Two things are remembered per file this way (hub.ingest.pipeline): on a source's first load on
SQLite, the keys the file has written (so a chunk looks up only the keys it may have written
before, `Ingestion._first_load_keys`); and on every load, the keys it found unchanged
(hub.ingest.unchanged). In both, the filter only says which keys are worth an exact lookup.

The filter is a Bloom filter of fixed size, so its memory is bounded whatever the file's size:
a key added always answers "maybe"; a key not added answers "not added" unless its three bits
were all set by other keys. Such a false "maybe" costs a lookup that finds nothing. At 2^26
bits (8 MiB), after 500,000 keys one key in 100,000 is a false "maybe", after a million one in
12,000, after ten million one in twenty. With one bit per key it was one in 130, one in 67 and
one in seven: a chunk of 2,000 keys then nearly always had one to look up. The three bits come
from the two halves of one 64-bit hash (h1 + i·h2, Kirsch and Mitzenmacher), Python's own,
salted per process, so a file cannot be built to collide.
"""

from __future__ import annotations

from collections.abc import Iterable

BITS = 1 << 26


class KeyFilter:
    """A Bloom filter over keys, three bits a key: which of them may have been added."""

    def __init__(self, bits: int | None = None) -> None:
        bits = BITS if bits is None else bits
        if bits <= 0 or bits & (bits - 1):
            raise ValueError("the filter's size must be a power of two")
        self._mask = bits - 1
        self._bits = bytearray(max(1, bits >> 3))

    def add_again(self, keys: Iterable[str]) -> list[str]:
        """Add `keys`; those that may have been added before (each key's bits are read and
        set in one pass: a first load asks this of every key it writes). The bit arithmetic
        is written out here and in `maybe`, not shared: a call per key would cost more than
        the rest of the loop."""
        bits, mask = self._bits, self._mask
        again = []
        for key in keys:
            h = hash(key)
            step = (h >> 32) | 1
            i, j, k = h & mask, (h + step) & mask, (h + 2 * step) & mask
            a, b, c = i >> 3, j >> 3, k >> 3
            x, y, z = 1 << (i & 7), 1 << (j & 7), 1 << (k & 7)
            if bits[a] & x and bits[b] & y and bits[c] & z:
                again.append(key)
            bits[a] |= x
            bits[b] |= y
            bits[c] |= z
        return again

    def maybe(self, keys: Iterable[str]) -> list[str]:
        """Those of `keys` that may have been added: every one that was, and a few others."""
        bits, mask = self._bits, self._mask
        found = []
        for key in keys:
            h = hash(key)
            step = (h >> 32) | 1
            i, j, k = h & mask, (h + step) & mask, (h + 2 * step) & mask
            if (
                bits[i >> 3] & (1 << (i & 7))
                and bits[j >> 3] & (1 << (j & 7))
                and bits[k >> 3] & (1 << (k & 7))
            ):
                found.append(key)
        return found
