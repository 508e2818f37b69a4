"""hub.kit.driver: the verify's two statements run straight on asyncpg give what SQLAlchemy's
execution of the same statements gives (the same columns, values and types), fail as
SQLAlchemy's errors without their parameters, and never run outside a transaction they were
meant to be in. On SQLite every statement goes through SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import String, Table, TypeDecorator, bindparam, event, literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.log import _riding
from hub.database import Database
from hub.eligibility.lookup import _statement as applicant_statement
from hub.kit import driver
from hub.records.facts import facts_query
from hub.records.models import AttributeFact
from hub.vault import KeySet, candidates
from schemas.catalogue import load_catalogue
from schemas.identifiers import parse_rrn
from tests.eligibility.test_eligibility_api import TODAY, consent, enrol, person

SECRET = "8801011234567"


FACTS = AttributeFact.__table__
assert isinstance(FACTS, Table)


def fact(person_id: Any, record_id: str, valid_from: dt.date = TODAY) -> Any:
    """The INSERT of one reported fact about the person."""
    return FACTS.insert().values(
        person_id=person_id,
        attribute="disability.registered",
        value=True,
        value_key="true",
        valid_from=valid_from,
        source_org="MOHW",
        source_record_id=record_id,
        fingerprint="0" * 64,
    )


def typed(rows: Any) -> list[list[tuple[type, Any]]]:
    return [[(type(value), value) for value in row] for row in rows]


async def both(connection: AsyncConnection, statement: Any, params: dict[str, Any]) -> tuple:
    """The rows `driver.rows` gives and those SQLAlchemy gives, with their keys."""
    mine = await driver.rows(connection, statement, params)
    theirs = (await connection.execute(statement, params)).all()
    return mine, theirs


async def test_the_applicant_and_the_facts_read_as_sqlalchemy_reads_them(
    db: Database, keys: KeySet
) -> None:
    who = await person(db, keys)
    await enrol(db, who, "MOHW-BLS-LIVELIHOOD", "MOHW")
    await consent(db, who, recipients=["WC-ARA"], purposes=["case.support"], categories=["x"])
    await consent(
        db,
        who,
        recipients=["WC-ARA", "MOHW"],
        purposes=["case.support"],
        categories=["a", "b"],
        valid_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
        withdrawn=True,
    )
    async with db.transaction() as session:
        await session.execute(fact(who.id, f"fact-{who.id}", TODAY - dt.timedelta(days=3)))
    pairs = candidates(keys, parse_rrn(who.rrn, today=TODAY))
    found = {f"kid_{i}": p.kid for i, p in enumerate(pairs)} | {
        f"digest_{i}": p.digest for i, p in enumerate(pairs)
    }
    async with db.statement_engine.connect() as connection:
        mine, theirs = await both(connection, applicant_statement(len(pairs)), found)
        assert len(mine) == 2  # one row per consent
        assert [r._fields for r in mine] == [tuple(r._fields) for r in theirs]
        assert typed(sorted(mine, key=lambda r: r.id)) == typed(sorted(theirs, key=lambda r: r.id))
        assert {type(r.withdrawn_at) for r in mine} == {type(None), dt.datetime}
        assert all(r.given_at.tzinfo == dt.UTC for r in mine)

        catalogue = load_catalogue()
        query = facts_query(
            connection.dialect.name,
            catalogue,
            [who.id],
            {"basic_livelihood.recipient", "disability.registered"},
        )
        assert query is not None
        mine, theirs = await both(connection, query.statement, query.params)
        assert len(mine) == 2  # the reported fact and the conferring enrolment
        assert [r._fields for r in mine] == [tuple(r._fields) for r in theirs]
        order = sorted(range(2), key=lambda i: str(mine[i].code))
        assert typed(mine[i] for i in order) == typed(sorted(theirs, key=lambda r: str(r.code)))


async def test_an_answer_and_its_log_entry_are_one_statement_on_the_driver(
    db: Database, keys: KeySet
) -> None:
    """The facts read with the entry that logs them (audit.log.record_with's statement): the
    entry and its queue row are written, in the statement's own transaction."""
    who = await person(db, keys)
    await enrol(db, who, "MOHW-BLS-LIVELIHOOD", "MOHW")
    query = facts_query("postgresql", load_catalogue(), [who.id], {"basic_livelihood.recipient"})
    assert query is not None
    entry = {
        "entry_recorded_at": dt.datetime.now(dt.UTC),
        "entry_action": "eligibility.verify",
        "entry_organisation": "MCST",
        "entry_client_id": None,
        "entry_actor": None,
        "entry_subject_ref": None,
        "entry_purpose": "eligibility.verification",
        "entry_basis": "statute:ssba-7",
        "entry_data_categories": ["basic_livelihood"],
        "entry_fields": ["basic_livelihood.recipient"],
        "entry_decision": "permit",
        "entry_reason": "driver test",
        "entry_request_id": f"req_{who.id.hex[:16]}",
        "entry_rule_set_hash": "0" * 64,
    }
    async with db.statement_engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            pytest.skip("the entry rides the read only on PostgreSQL (a data-modifying CTE)")
        rows = await driver.rows(connection, _riding(query.statement), query.params | entry)
    assert [r.code for r in rows] == ["MOHW-BLS-LIVELIHOOD"]
    async with db.engine.connect() as connection:
        logged = await connection.scalar(
            text("SELECT count(*) FROM disclosure_entries WHERE request_id = :r"),
            {"r": entry["entry_request_id"]},
        )
    assert logged == 1


async def test_a_failed_statement_is_sqlalchemys_error_without_its_parameters(
    db: Database,
) -> None:
    statement = select(text("name FROM no_such_table")).where(text("name = :name"))
    async with db.statement_engine.connect() as connection:
        with pytest.raises(DBAPIError) as failure:
            await driver.rows(connection, statement, {"name": SECRET})
    shown = str(failure.value)
    assert "no_such_table" in shown  # the statement still says what failed
    assert SECRET not in shown


async def test_a_broken_constraint_is_sqlalchemys_integrity_error(
    db: Database, keys: KeySet
) -> None:
    """The one kind callers catch for a unique key already taken, as through SQLAlchemy."""
    who = await person(db, keys)
    # A CTE's INSERT gets no Python-side defaults: the id and time are given.
    row = fact(who.id, f"twice-{who.id}").values(
        id=uuid.uuid4(), recorded_at=dt.datetime.now(dt.UTC)
    )
    added = row.returning(FACTS.c.id).cte("added")
    statement = select(added.c.id)
    async with db.statement_engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            pytest.skip("SQLite writes in no CTE; there the statement is SQLAlchemy's anyway")
        assert len(await driver.rows(connection, statement, {})) == 1
        with pytest.raises(IntegrityError) as failure:
            await driver.rows(connection, statement, {})
    assert f"twice-{who.id}" not in str(failure.value)


async def test_a_connection_in_a_transaction_keeps_its_statements_in_it(
    db: Database, keys: KeySet
) -> None:
    """Outside autocommit the statement goes through SQLAlchemy, which begins the transaction
    first: a row written before it is seen, and gone after the rollback."""
    who = await person(db, keys)
    through: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        through.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with db.engine.connect() as connection:
            await connection.execute(fact(who.id, f"tx-{who.id}"))
            mine = await driver.rows(
                connection,
                select(FACTS.c.source_record_id).where(FACTS.c.person_id == bindparam("p")),
                {"p": who.id},
            )
            await connection.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [r.source_record_id for r in mine] == [f"tx-{who.id}"]
    assert sum("SELECT attribute_facts.source_record_id" in s for s in through) == 1
    async with db.statement_engine.connect() as connection:
        after = await driver.rows(
            connection,
            select(FACTS.c.source_record_id).where(FACTS.c.person_id == bindparam("p")),
            {"p": who.id},
        )
    assert after == []


class Tagged(TypeDecorator[str]):
    """A type whose values change on the way in and out, as SQLAlchemy applies them."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else f"in:{value}"

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else f"{value}:out"


async def test_each_columns_type_processes_values_as_sqlalchemy_does(db: Database) -> None:
    statement = select(
        bindparam("given", type_=Tagged()).label("tagged"),
        literal("fixed", type_=Tagged()).label("fixed"),
        bindparam("absent", type_=Tagged()).label("absent"),
    )
    async with db.statement_engine.connect() as connection:
        mine, theirs = await both(connection, statement, {"given": "x", "absent": None})
    assert typed(mine) == typed(theirs) == typed([("in:x:out", "in:fixed:out", None)])
    assert mine[0]._fields == ("tagged", "fixed", "absent")


async def test_a_statement_only_sqlalchemy_can_render_goes_through_it(
    db: Database, keys: KeySet
) -> None:
    """An expanding IN list is rendered per execution by SQLAlchemy: such a statement is
    handed to it, and gives the same rows."""
    who = await person(db, keys)
    async with db.transaction() as session:
        await session.execute(fact(who.id, f"in-{who.id}"))
    statement = select(FACTS.c.source_record_id).where(
        FACTS.c.source_record_id.in_(bindparam("ids", expanding=True))
    )
    async with db.statement_engine.connect() as connection:
        mine, theirs = await both(connection, statement, {"ids": [f"in-{who.id}", "none"]})
    assert [tuple(r) for r in mine] == [tuple(r) for r in theirs] == [(f"in-{who.id}",)]
