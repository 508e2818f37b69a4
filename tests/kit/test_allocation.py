"""Bulk work raises the collector's young threshold and puts it back, nested or not."""

from __future__ import annotations

import gc

from hub.kit.allocation import YOUNG_THRESHOLD, bulk_allocation


def test_threshold_is_raised_while_bulk_work_runs_and_restored_after() -> None:
    before = gc.get_threshold()
    with bulk_allocation():
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
        with bulk_allocation():
            assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD  # the outer run is still going
    assert gc.get_threshold() == before


def test_restored_when_the_work_fails() -> None:
    before = gc.get_threshold()
    try:
        with bulk_allocation():
            raise RuntimeError("the file was broken")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
