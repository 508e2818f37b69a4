"""Every enrolment and attribute fact names a person that exists, on both databases, however it
is written: by COPY (ingestion's path), by INSERT, or by an UPDATE that changes its person.
SQLite enforces this with foreign keys; PostgreSQL with a check per statement (migration
0013), which also needs persons never to be deleted or re-keyed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import Table, delete, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.database import Database, copy_rows, dialect_of
from hub.records.models import AttributeFact, Enrolment, Person
from hub.vault import KeySet
from tests.eligibility.test_eligibility_api import person

NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)


def _enrolment(person_id: uuid.UUID, key: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "person_id": person_id,
        "programme_code": "MOHW-BLS-LIVELIHOOD",
        "source_org": "MOHW",
        "source_record_id": key,
        "period_start": dt.date(2026, 1, 1),
        "status": "active",
        "fingerprint": "0" * 64,
        "created_at": NOW,
        "updated_at": NOW,
    }


def _fact(person_id: uuid.UUID, key: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "person_id": person_id,
        "attribute": "health_insurance.payment_status",
        "value": "paid",
        "value_key": "paid",
        "valid_from": dt.date(2026, 1, 1),
        "source_org": "NHIS",
        "source_record_id": key,
        "fingerprint": "0" * 64,
        "recorded_at": NOW,
    }


ROWS = {"enrolments": (Enrolment, _enrolment), "attribute_facts": (AttributeFact, _fact)}


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def _write(db: Database, table: Table, how: str, rows: list[dict[str, Any]]) -> None:
    async with db.transaction() as session:
        if how == "copy":
            await copy_rows(session, table, list(rows[0]), [tuple(r.values()) for r in rows])
        else:
            await session.execute(table.insert(), rows)


@pytest.mark.parametrize("kind", sorted(ROWS))
@pytest.mark.parametrize("how", ["copy", "insert"])
async def test_a_row_naming_no_person_is_refused(
    db: Database, keys: KeySet, kind: str, how: str
) -> None:
    model, make = ROWS[kind]
    table = _table(model)
    who = await person(db, keys)
    good, orphan = make(who.id, f"good-{who.id}"), make(uuid.uuid4(), f"orphan-{who.id}")
    with pytest.raises(IntegrityError):
        await _write(db, table, how, [good, orphan])
    await _write(db, table, how, [good])  # nothing of the refused statement stayed


@pytest.mark.parametrize("kind", sorted(ROWS))
async def test_an_update_to_no_person_is_refused(db: Database, keys: KeySet, kind: str) -> None:
    model, make = ROWS[kind]
    table = _table(model)
    who, other = await person(db, keys), await person(db, keys)
    row = make(who.id, f"moved-{who.id}")
    async with db.transaction() as session:
        await session.execute(table.insert(), [row])
    async with db.transaction() as session:  # to another person who exists: fine
        await session.execute(
            update(table).where(table.c.id == row["id"]).values(person_id=other.id)
        )
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(
                update(table).where(table.c.id == row["id"]).values(person_id=uuid.uuid4())
            )


async def test_a_person_is_never_deleted_or_rekeyed_on_postgresql(
    db: Database, keys: KeySet
) -> None:
    """What the foreign key's row lock guarded against: the person going away under a row."""
    who = await person(db, keys)
    async with db.transaction() as session:
        if dialect_of(session) != "postgresql":
            pytest.skip("SQLite keeps the foreign keys (and their delete check)")
    persons = _table(Person)
    attempts = [
        delete(persons).where(persons.c.id == who.id),
        update(persons).where(persons.c.id == who.id).values(id=uuid.uuid4()),
        text("TRUNCATE persons CASCADE"),
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="persons are never deleted"):
            async with db.transaction() as session:
                await session.execute(statement)
    async with db.transaction() as session:  # other updates of a person are untouched
        await session.execute(
            update(persons).where(persons.c.id == who.id).values(household_id="H-kept")
        )
