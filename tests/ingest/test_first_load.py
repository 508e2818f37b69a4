"""A source's first load on SQLite looks up only the keys it may have written itself
(hub.ingest.keyfilter), and judges its own repeats exactly as a later load would: the same
content is unchanged, other content a conflicting repeat, each key stored once. A filter so
small that every key is a "maybe" changes nothing but the number of lookups."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.ingest import keyfilter, pipeline
from hub.ingest.keyfilter import KeyFilter
from hub.records.models import Enrolment
from schemas.catalogue import load_catalogue
from tests.factories import new_rrn
from tests.ingest.conftest import csv_file, ingest_test_file


def test_every_key_written_is_a_maybe_and_few_others_are() -> None:
    keys = KeyFilter(bits=1 << 20)
    added = [f"K-{i}" for i in range(10_000)]
    keys.add(added)
    assert keys.maybe(added) == added
    others = [f"O-{i}" for i in range(10_000)]
    assert len(keys.maybe(others)) < 300  # about 1 - e^(-10,000 / 2^20): 1%


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
        # On SQLite only the chunk holding the repeats was looked up, unless every key was a
        # "maybe" (then every chunk after the first, which has no earlier keys to find). On
        # PostgreSQL every chunk is (Ingestion._first_load_keys).
        sqlite = fresh_database_url.startswith("sqlite")
        assert len(lookups) == ((4 if bits == 8 else 1) if sqlite else 5)
        lookups.clear()
        again = (await ingest_test_file(db, keys_file, later, mappings_dir)).batch
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 400)
        assert len(lookups) == 2  # no longer the source's first load: every chunk
        async with db.transaction() as session:
            stored = await session.scalar(select(func.count()).select_from(Enrolment))
        assert stored == 998
    finally:
        await db.dispose()
