"""Fewer garbage collections during bulk work.

CPython's cyclic collector runs a young-generation pass every 700 net allocations of container
objects, and each pass it promotes work towards full passes over every tracked object. A bulk
load allocates millions of short-lived tuples, dicts and records that never form cycles, so at
the default threshold the collector ran thousands of times per file over a heap that holds the
whole application: measured on the ingestion benchmark, about a fifth of the writing
process's CPU (benchmarks/RESULTS.md, issue 3). Raising the young threshold while bulk work
runs keeps cycles collected, just less often; memory stays bounded by the chunking.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Raise the collector's young-generation threshold for the duration (nesting and
    concurrent use from several tasks are fine: the last one out restores the setting)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), _saved[1], _saved[2])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
