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


SERVING_YOUNG_THRESHOLD = 7_000
"""The young-generation threshold of a serving process: ten times CPython's default."""

_settled = False


def settle_after_startup() -> None:
    """Once per process, when the application has started: collect, then move every object
    alive now (modules, the catalogue, SQLAlchemy's and pydantic's compiled machinery) to the
    collector's permanent generation, and collect the young generation less often.

    A request allocates a few thousand short-lived containers and frees them by reference
    counting; at the default threshold the collector still ran several young passes per
    request and, every hundred or so, a full pass over the whole application heap, about 5%
    of a serving worker's CPU under load (benchmarks/RESULTS.md, "Eligibility"). Frozen
    objects are still freed when their last reference goes; only a cycle among them would
    wait for `gc.unfreeze()`, and they are the process's long-lived state."""
    global _settled
    with _lock:
        if _settled:
            return
        _settled = True
        gc.collect()
        gc.freeze()
        young, middle, old = gc.get_threshold()
        gc.set_threshold(max(young, SERVING_YOUNG_THRESHOLD), middle, old)
