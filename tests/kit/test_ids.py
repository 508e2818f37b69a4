"""Bulk UUIDs are real version-7 UUIDs (RFC 9562 §5.7): distinct, and ordered by the time
they were minted; those minted to leave the hub are random version-4 ones."""

from __future__ import annotations

import time
import uuid

from hub.kit.ids import as_bulk_uuid, new_random_uuids, new_uuids


def test_bulk_uuids_are_distinct_version_7() -> None:
    ids = new_uuids(10_000)
    assert len(ids) == 10_000
    assert len(set(ids)) == 10_000
    assert all(isinstance(i, uuid.UUID) and i.version == 7 for i in ids)
    assert all(i.variant == uuid.RFC_4122 for i in ids)
    assert new_uuids(0) == []


def test_bulk_uuids_carry_the_time_they_were_minted() -> None:
    before = time.time_ns() // 1_000_000
    first = new_uuids(3)
    time.sleep(0.002)
    later = new_uuids(3)
    after = time.time_ns() // 1_000_000
    for minted in first + later:
        assert before <= minted.int >> 80 <= after  # the top 48 bits: Unix time in ms
    # A later call's ids sort after an earlier call's: the index's right edge takes them.
    assert max(str(i) for i in first) < min(str(i) for i in later)
    assert max(first) < min(later)


def test_bulk_ids_that_leave_the_hub_are_random_version_4() -> None:
    ids = new_random_uuids(10_000)
    assert len(set(ids)) == 10_000
    assert all(isinstance(i, uuid.UUID) and i.version == 4 for i in ids)
    assert all(i.variant == uuid.RFC_4122 for i in ids)
    assert len({i.int >> 80 for i in ids}) > 9_000  # no shared time prefix
    assert new_random_uuids(0) == []


def test_a_bulk_copy_of_an_id_is_the_same_id() -> None:
    given = uuid.uuid4()
    copy = as_bulk_uuid(given)
    assert isinstance(copy, uuid.UUID)
    assert type(copy) is type(new_uuids(1)[0])
    assert (copy, hash(copy), str(copy), copy.bytes) == (
        given,
        hash(given),
        str(given),
        given.bytes,
    )
    assert {given: 1}[copy] == 1
