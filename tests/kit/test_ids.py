"""Bulk UUIDs are real version-4 UUIDs and distinct."""

from __future__ import annotations

import uuid

from hub.kit.ids import new_uuids


def test_bulk_uuids_are_distinct_version_4() -> None:
    ids = new_uuids(10_000)
    assert len(ids) == 10_000
    assert len(set(ids)) == 10_000
    assert all(isinstance(i, uuid.UUID) and i.version == 4 for i in ids)
    assert all(i.variant == uuid.RFC_4122 for i in ids)
    assert new_uuids(0) == []
