"""hub.database.copy_rows stores each value exactly as SQLAlchemy's own INSERT stores it, on
both databases: the bulk paths (ingestion, the log sequencer) and the ORM share the columns,
and on SQLite, where dates and times are text, one format per column is what keeps their
comparisons and ordering right."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Table, cast, select
from sqlalchemy.types import String

from hub.database import Database, copy_rows
from hub.records.models import Enrolment
from hub.vault import KeySet
from tests.eligibility.test_eligibility_api import person


async def test_a_copied_row_is_stored_as_sqlalchemy_stores_it(db: Database, keys: KeySet) -> None:
    who = await person(db, keys)
    table = Enrolment.__table__
    assert isinstance(table, Table)
    at = dt.datetime(2026, 11, 24, 6, 0, 0, 123456, tzinfo=dt.UTC)
    values = {
        "person_id": who.id,
        "programme_code": "MOHW-BLS-LIVELIHOOD",
        "source_org": "MOHW",
        "period_start": dt.date(2026, 1, 1),
        "period_end": None,
        "status": "active",
        "amount_won": 713_102,
        "fingerprint": "0" * 64,
        "batch_id": uuid.uuid4(),
        "created_at": at,
        "updated_at": at,
    }
    copied = {"id": uuid.uuid4(), "source_record_id": f"copy-{who.id}"} | values
    inserted = {"id": uuid.uuid4(), "source_record_id": f"orm-{who.id}"} | values
    async with db.transaction() as session:
        await copy_rows(session, table, list(copied), [tuple(copied.values())])
        await session.execute(table.insert().values(inserted))
    columns = ("person_id", "period_start", "amount_won", "batch_id", "created_at")
    async with db.engine.connect() as connection:
        stored = {
            row[0]: row[1:]
            for row in await connection.execute(
                select(
                    table.c.source_record_id, *(cast(table.c[c], String) for c in columns)
                ).where(table.c.person_id == who.id)
            )
        }
        typed = {
            row[0]: row[1:]
            for row in await connection.execute(
                select(table.c.source_record_id, *(table.c[c] for c in columns)).where(
                    table.c.person_id == who.id
                )
            )
        }
    assert stored[copied["source_record_id"]] == stored[inserted["source_record_id"]]
    assert typed[copied["source_record_id"]] == (
        who.id,
        dt.date(2026, 1, 1),
        713_102,
        values["batch_id"],
        at,
    )
