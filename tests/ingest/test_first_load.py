"""A source's first load looks up only the keys it may have written itself
(hub.ingest.keyfilter), and judges its own repeats exactly as a later load would: the same
content is unchanged, other content a conflicting repeat, each key stored once. A filter so
small that every key is a "maybe" changes nothing but the number of lookups."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from connectors.mapper import Staged
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.ingest import keyfilter, pipeline
from hub.ingest.keyfilter import KeyFilter
from hub.ingest.records import stored_versions
from hub.records.models import Enrolment
from hub.vault import KeySet
from schemas.catalogue import load_catalogue
from tests.eligibility.test_eligibility_api import person
from tests.factories import new_rrn
from tests.ingest.conftest import csv_file, ingest_test_file


def test_every_key_written_is_a_maybe_and_few_others_are() -> None:
    keys = KeyFilter(bits=1 << 20)
    added = [f"K-{i}" for i in range(10_000)]
    keys.add_again(added)
    assert keys.maybe(added) == added
    others = [f"O-{i}" for i in range(10_000)]
    # Three bits a key: about (1 - e^(-30,000 / 2^20))^3, 0.003%; one bit a key gave 1%.
    assert len(keys.maybe(others)) < 10


def test_adding_again_names_the_keys_added_before() -> None:
    keys = KeyFilter(bits=1 << 20)
    assert keys.add_again([f"K-{i}" for i in range(5000)]) == []  # nothing added before
    again = keys.add_again([f"K-{i}" for i in range(4000, 9000)])
    assert again[:1000] == [f"K-{i}" for i in range(4000, 5000)]
    assert len(again) < 1010  # and few of the 4,000 new ones
    assert keys.maybe([f"K-{i}" for i in range(9000)]) == [f"K-{i}" for i in range(9000)]


def test_a_filter_is_a_power_of_two_bits() -> None:
    with pytest.raises(ValueError, match="power of two"):
        KeyFilter(bits=1000)


def _rows(tag: str) -> list[str]:
    rows = [f"{new_rrn()},나래,11350,,F-{tag}-{i},1001,20240101,,01," for i in range(1000)]
    rows[899] = rows[9].replace(",20240101,", ",20240301,")  # a conflicting repeat
    rows[949] = rows[19]  # an unchanged repeat
    return rows


@pytest.mark.parametrize("bits", [keyfilter.BITS, 8])
async def test_a_first_load_judges_its_own_repeats(
    fresh_database_url: str,
    keys_file: Path,
    mappings_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bits: int,
) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 200)  # the repeats come four chunks later
    monkeypatch.setattr(keyfilter, "BITS", bits)
    rows = _rows(uuid.uuid4().hex[:8])
    path, later = tmp_path / "first.csv", tmp_path / "later.csv"
    path.write_bytes(csv_file(*rows))
    later.write_bytes(csv_file(*rows[:400]))
    db = Database(fresh_database_url)
    lookups: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "enrolments.fingerprint" in statement:
            lookups.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        first = (await ingest_test_file(db, keys_file, path, mappings_dir)).batch
        assert (first.inserted, first.unchanged, first.rejected) == (998, 1, 1)
        # Only the chunk holding the repeats was looked up, unless every key was a "maybe"
        # (then every chunk: in the first, its own keys fill so small a filter).
        assert len(lookups) == (5 if bits == 8 else 1)
        lookups.clear()
        again = (await ingest_test_file(db, keys_file, later, mappings_dir)).batch
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 400)
        assert len(lookups) == 2  # no longer the source's first load: every chunk
        async with db.transaction() as session:
            stored = await session.scalar(select(func.count()).select_from(Enrolment))
        assert stored == 998
    finally:
        await db.dispose()


async def test_a_first_load_finds_its_few_keys_by_source_and_key(
    fresh_database_url: str, keys: KeySet
) -> None:
    """The statistics, taken before the file, know nothing of its source: the lookup of the
    few keys the filter lets through must still go by source and key, not read every row the
    file has written so far (hub.ingest.records.stored_versions)."""
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("SQLite's planner has no statistics of values to be misled by")
    db = Database(fresh_database_url)
    try:
        who = await person(db, keys)
        rows = """INSERT INTO enrolments (id, person_id, programme_code, source_org,
            source_record_id, period_start, status, fingerprint, created_at, updated_at)
            SELECT gen_random_uuid(), :person, 'MOHW-BLS-LIVELIHOOD', CAST(:source AS text),
            CAST(:source AS text) || n, DATE '2024-01-01', 'active', '', now(), now()
            FROM generate_series(1, :n) AS n"""
        async with db.transaction() as session:
            await session.execute(text(rows), {"person": who.id, "source": "MOHW", "n": 100})
            await session.execute(text("ANALYZE enrolments"))
            await session.execute(text(rows), {"person": who.id, "source": "KFS", "n": 20_000})
        written = KeyFilter()
        written.add_again(["KFS7", "KFS20000", "KFS-none"])
        chunk = [_row("KFS7"), _row("KFS20000"), _row("KFS-none")]
        async with db.transaction() as session:
            found = await stored_versions(
                session, Enrolment, Enrolment.source_record_id, "KFS", chunk, written
            )
            fetched = await session.scalar(
                text("SELECT idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = :t"),
                {"t": "enrolments"},
            )
        assert sorted(found) == ["KFS20000", "KFS7"]
        assert fetched is not None
        assert fetched <= 3  # a scan by the source alone fetched all 20,000
    finally:
        await db.dispose()


def _row(key: str) -> Staged:
    return Staged(0, "", "", "", dt.date(2000, 1, 1), "", "", None, key, "", {})  # the key is read
