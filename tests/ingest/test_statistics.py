"""The ANALYZEs a load runs on PostgreSQL describe the columns its statements read, and only
those (hub.ingest.statistics.ANALYSED_COLUMNS)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import Table, text

import hub.models  # noqa: F401 (every table registered)
from hub.database import Database, copy_rows
from hub.ingest.statistics import ANALYSED_COLUMNS, FIRST_AT, Growth
from hub.kit.base import Base
from hub.kit.ids import new_uuids


def test_the_analysed_columns_are_columns_of_their_tables() -> None:
    for table, columns in ANALYSED_COLUMNS.items():
        assert set(columns) <= set(Base.metadata.tables[table].c.keys()), table


async def test_a_load_describes_only_the_columns_its_statements_read(
    fresh_database_url: str,
) -> None:
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("SQLite's ANALYZE describes indexes, not columns")
    persons = Base.metadata.tables["persons"]
    assert isinstance(persons, Table)
    now = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    count = FIRST_AT + 10
    values = [
        {
            "id": person_id,
            "rrn_kid": "k1",
            "rrn_sealed": os.urandom(40),
            "rrn_index_kid": "b1",
            "rrn_index": os.urandom(32),
            "name": f"p{n}",
            "birth_date": dt.date(1990, 1, 1),
            "sex": "male",
            "household_id": f"H{n % 500}",
            "civil_status": "alive",
            "created_at": now,
            "updated_at": now,
        }
        for n, person_id in enumerate(new_uuids(count))
    ]
    columns = list(values[0])
    rows = [tuple(v.values()) for v in values]
    db = Database(fresh_database_url)
    try:
        async with db.transaction() as session:
            await copy_rows(session, persons, columns, rows)
            growth = await Growth.of(session, ("persons",))
            growth.wrote("persons", count)
            assert await growth.refresh(session) == ["persons"]
            described = await session.scalars(
                text("SELECT attname FROM pg_stats WHERE tablename = 'persons'")
            )
            assert set(described) == set(ANALYSED_COLUMNS["persons"])
            await session.rollback()
    finally:
        await db.dispose()
