"""What the cheaper verify path must keep (benchmarks/RESULTS.md, "Eligibility"): consents read
with the person in one statement and judged afresh on every request, the facts and the log
entry as before, and a client disabled by another process losing access within seconds."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, select, update

from audit.models import AuditPending, DisclosureEntry
from hub.auth.models import Client
from hub.auth.repository import STANDING_SECONDS
from hub.consents.models import ConsentRow
from hub.database import Database
from hub.kit.clock import utcnow
from hub.vault import KeySet
from tests.eligibility.test_eligibility_api import (
    consent,
    enrol,
    entries_of,
    headers_for,
    person,
    verify_body,
)
from tests.factories import new_rrn

BLS = {"attribute": "basic_livelihood.recipient"}
CENTRE, PRIVATE = "WC-ARA", "PRIV-FOOD"


async def test_a_centre_verifies_by_consent_and_loses_it_on_the_next_request(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    who = await person(db, keys)
    await enrol(db, who, "MOHW-BLS-LIVELIHOOD", "MOHW")
    # Several consents: one for someone else, one withdrawn, one that stands.
    await consent(
        db,
        who,
        recipients=["WC-NOWON"],
        purposes=["eligibility.verification"],
        categories=["status.basic_livelihood"],
    )
    await consent(
        db,
        who,
        recipients=[CENTRE],
        purposes=["eligibility.verification"],
        categories=["status.basic_livelihood"],
        withdrawn=True,
    )
    standing = await consent(
        db,
        who,
        recipients=[CENTRE],
        purposes=["eligibility.verification"],
        categories=["status.basic_livelihood"],
    )
    headers, client_id = await headers_for(api, db, CENTRE, "eligibility:verify")
    body = verify_body(who.rrn, PRIVATE, BLS)

    answered = await api.post("/v1/eligibility/verify", headers=headers, json=body)
    assert answered.status_code == 200, answered.text
    assert answered.json()["basis"] == f"consent:{standing}"
    assert answered.json()["answers"][0]["answer"] is True

    async with db.transaction() as session:
        row = await session.get(ConsentRow, standing)
        assert row is not None
        row.withdrawn_at = utcnow()
        row.withdrawal_reason = "withdrawn"
    refused = await api.post("/v1/eligibility/verify", headers=headers, json=body)
    assert refused.status_code == 403
    assert refused.json()["denial"] == "consent_withdrawn"
    assert standing not in refused.text

    logged = await entries_of(db, client_id)
    assert [(e.decision, e.basis) for e in logged] == [
        ("permit", f"consent:{standing}"),
        ("deny", None),
    ]
    assert logged[0].subject_ref == logged[1].subject_ref is not None


async def test_each_answer_is_one_entry_queued_for_the_sequencer(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    known = await person(db, keys)
    headers, client_id = await headers_for(api, db, "MCST")
    for rrn in (known.rrn, new_rrn()):
        response = await api.post(
            "/v1/eligibility/verify",
            headers=headers,
            json=verify_body(rrn, "MCST-TRAVEL-VOUCHER", BLS),
        )
        assert response.status_code == 200, response.text
    logged = await entries_of(db, client_id)
    assert [(e.decision, e.fields) for e in logged] == [("permit", [BLS["attribute"]])] * 2
    assert logged[0].subject_ref is not None
    assert logged[1].subject_ref is None
    assert logged[0].recorded_at.tzinfo is not None
    async with db.transaction() as session:
        queued = set(
            await session.scalars(
                select(AuditPending.entry_id)
                .join(DisclosureEntry, DisclosureEntry.id == AuditPending.entry_id)
                .where(DisclosureEntry.client_id == client_id)
            )
        )
    # The in-process sequencer may already have taken them off the queue; nothing else may.
    assert queued <= {e.id for e in logged}


async def test_a_client_disabled_by_another_process_loses_access_within_seconds(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    who = await person(db, keys)
    headers, client_id = await headers_for(api, db, "MCST")
    body = verify_body(who.rrn, "MCST-TRAVEL-VOUCHER", BLS)
    assert (await api.post("/v1/eligibility/verify", headers=headers, json=body)).is_success
    # As `hub clients disable` does from its own process: this process's cache is not told.
    async with db.transaction() as session:
        await session.execute(
            update(Client).where(Client.client_id == client_id).values(enabled=False)
        )
    disabled_at = utcnow()
    while True:
        response = await api.post("/v1/eligibility/verify", headers=headers, json=body)
        if response.status_code == 401:
            break
        assert response.status_code == 200
        assert utcnow() - disabled_at < dt.timedelta(seconds=STANDING_SECONDS + 1)
        await asyncio.sleep(0.2)
    assert utcnow() - disabled_at <= dt.timedelta(seconds=STANDING_SECONDS + 1)
    # Re-enabling takes effect at once: a disabled standing is never cached.
    async with db.transaction() as session:
        await session.execute(
            update(Client).where(Client.client_id == client_id).values(enabled=True)
        )
    assert (await api.post("/v1/eligibility/verify", headers=headers, json=body)).is_success


async def test_a_known_person_is_answered_in_two_statements_on_postgresql(
    api: httpx.AsyncClient, app: FastAPI, db: Database, keys: KeySet
) -> None:
    """The person with their consents; then the facts, read in the statement that writes the
    answer's log entry and its queue row (audit.log.record_with). On PostgreSQL that statement
    is its own transaction: no BEGIN or COMMIT is sent (hub.auth.dependencies
    `StatementConnection`), so the answer costs two round trips; both statements go straight
    to asyncpg (hub.kit.driver), so they are counted as asyncpg runs them. On SQLite, where a
    round trip costs nothing, the entry, its queue row and the facts are three statements in
    one transaction."""
    known = await person(db, keys)
    await enrol(db, known, "MOHW-BLS-LIVELIHOOD", "MOHW")
    headers, client_id = await headers_for(api, db, "MCST")
    body = verify_body(known.rrn, "MCST-TRAVEL-VOUCHER", BLS)
    assert (await api.post("/v1/eligibility/verify", headers=headers, json=body)).status_code == 200

    executed: list[tuple[Any, str]] = []

    def count(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append((conn, statement))  # one SQLAlchemy Connection per checkout

    sent: dict[int, list[str]] = {}  # every query each asyncpg connection ran
    watched: list[tuple[Any, Any]] = []

    def watch(dbapi_connection: Any, *_: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and hasattr(driver, "add_query_logger") and id(driver) not in sent:
            queries = sent.setdefault(id(driver), [])

            def log(record: Any) -> None:
                queries.append(record.query)

            driver.add_query_logger(log)
            watched.append((driver, log))

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "checkout", watch)
    try:
        response = await api.post("/v1/eligibility/verify", headers=headers, json=body)
        await asyncio.sleep(0)  # asyncpg reports logged queries on the next loop turn
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "checkout", watch)
        for driver, log in watched:
            driver.remove_query_logger(log)
    assert response.status_code == 200, response.text
    assert response.json()["answers"][0]["answer"] is True
    if engine.dialect.name == "postgresql":
        # The request's connection: the one that looked the person up (the in-process log
        # sequencer works on a connection of its own meanwhile).
        (request,) = [q for q in sent.values() if any("FROM persons" in s for s in q)]
        assert len(request) == 2, request
        assert "INSERT INTO disclosure_entries" in request[1], request
    else:
        request = next(c for c, statement in executed if "FROM persons" in statement)
        statements = [statement for c, statement in executed if c is request]
        assert len(statements) == 4, statements
    logged = await entries_of(db, client_id)
    assert len(logged) == 2
