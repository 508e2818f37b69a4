"""A disclosure whose entry did not commit is not released (DESIGN.md, house rules).

The failure is real: a database trigger makes every write to disclosure_entries fail, at the
insert (both databases) or, on PostgreSQL, only at commit (a deferred constraint trigger, so
the flush succeeds and the commit is what fails). Each disclosing endpoint then answers a 503
problem that carries none of the data it would have released, and nothing is half-written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from hub.database import Database
from hub.main import create_app
from tests.api.audit_support import (
    auditor_headers,
    disclosure,
    entry_count,
    new_person,
    org_code,
    record,
    sequence,
)
from tests.api.test_problems import assert_problem
from tests.conftest import make_settings
from tests.factories import asgi_client

AUDIT = "/v1/audit"

SQLITE_TRIGGER = """
CREATE TRIGGER audit_store_down BEFORE INSERT ON disclosure_entries
BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END
"""
POSTGRES_FUNCTION = """
CREATE FUNCTION audit_store_down() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$
"""
POSTGRES_TRIGGERS = {
    "insert": "CREATE TRIGGER audit_store_down BEFORE INSERT ON disclosure_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_store_down()",
    "commit": "CREATE CONSTRAINT TRIGGER audit_store_down AFTER INSERT ON disclosure_entries "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_store_down()",
}


@asynccontextmanager
async def audit_store_down(db: Database, when: str) -> AsyncIterator[None]:
    postgres = db.engine.dialect.name == "postgresql"
    async with db.transaction() as session:
        if postgres:
            await session.execute(text(POSTGRES_FUNCTION))
            await session.execute(text(POSTGRES_TRIGGERS[when]))
        else:
            await session.execute(text(SQLITE_TRIGGER))
    try:
        yield
    finally:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "DROP TRIGGER audit_store_down" + (" ON disclosure_entries" if postgres else "")
                )
            )
            if postgres:
                await session.execute(text("DROP FUNCTION audit_store_down()"))


@pytest.fixture
async def fresh_app(fresh_database_url: str, keys_file: Path) -> AsyncIterator[FastAPI]:
    """The app on a database of its own, so the broken audit store harms no other test."""
    app = create_app(make_settings(fresh_database_url, keys_file))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(params=["insert", "commit"])
def when(request: pytest.FixtureRequest, database_url: str) -> str:
    """Where the write fails: at the insert (flush) or only at commit."""
    if request.param == "commit" and database_url.startswith("sqlite"):
        pytest.skip("SQLite has no deferred triggers; the insert case covers SQLite")
    return str(request.param)


async def test_a_disclosure_whose_entry_fails_is_not_released(
    when: str, fresh_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    db = fresh_app.state.db
    async with asgi_client(fresh_app) as api:
        auditor, headers = await auditor_headers(api, db)
        person = await new_person(fresh_app, db)
        org = org_code()
        secret_reason = "Answered the attribute disability.registered for staff-7."
        await record(db, disclosure(org, subject_ref=person.log_ref, reason=secret_reason))
        await sequence(fresh_app)
        before = await entry_count(db)

        calls = [
            ("GET", f"{AUDIT}/disclosures", {"params": {"organisation": org}}),
            ("GET", f"{AUDIT}/disclosures/export", {}),
            ("POST", f"{AUDIT}/disclosures/search", {"json": {"subject": {"rrn": person.rrn}}}),
            (
                "POST",
                f"{AUDIT}/subject-report",
                {"json": {"subject": {"rrn": person.rrn}, "purpose": "audit.oversight"}},
            ),
            ("GET", f"{AUDIT}/entries/0", {}),
        ]
        async with audit_store_down(db, when):
            for method, path, options in calls:
                response = await api.request(method, path, headers=headers, **options)
                body = assert_problem(response, 503, "disclosure-log-unavailable")
                assert set(body) <= {"type", "title", "status", "detail", "instance", "request_id"}
                for data in (org, person.log_ref, person.rrn, secret_reason, "staff-7"):
                    assert data not in response.text, (path, data)
            assert await entry_count(db) == before
        # Operators are told, by error type only: the database's message may quote the entry.
        assert caplog.text.count("audit.entry_not_written") == len(calls)
        for data in (person.log_ref, person.rrn, secret_reason, "audit store unavailable"):
            assert data not in caplog.text

        # With the store back, the same query is answered and logged.
        response = await api.get(
            f"{AUDIT}/disclosures", params={"organisation": org}, headers=headers
        )
        assert response.status_code == 200
        assert response.json()["items"][0]["reason"] == secret_reason
        assert await entry_count(db) == before + 1
        logged = await api.get(
            f"{AUDIT}/disclosures", params={"organisation": auditor}, headers=headers
        )
        assert [e["action"] for e in logged.json()["items"]] == ["audit.disclosures.list"]
