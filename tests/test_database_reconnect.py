"""Dropped PostgreSQL connections are recovered from without `pool_pre_ping` (hub.database).

The server ends a session when it restarts, fails over or is told to (`pg_terminate_backend`,
an idle-session timeout). The pool must not hand such a connection to the next request: that
request is served on a new connection, with no error and no extra round trip per checkout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from hub.database import Database
from hub.kit.clock import utcnow
from hub.main import create_app
from hub.records.repository import NewPerson, add_person
from hub.vault import KeySet
from schemas.identifiers import parse_rrn
from tests.conftest import POSTGRES_URL, make_settings
from tests.factories import asgi_client, bearer, new_client, new_rrn

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="needs HUB_TEST_POSTGRES_URL")


async def backend_pid(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")))


async def terminate_others(db: Database) -> int:
    """End every other session on the database (as a restart would); how many were ended."""
    async with db.engine.connect() as connection:
        ended = await connection.scalar(
            text(
                # With a timeout, pg_terminate_backend waits until the backend has exited
                # (without one it only signals it, and a loaded machine may take longer than
                # the sleep below to end it).
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        await connection.commit()
    await asyncio.sleep(0.2)  # the event loop reads the servers' goodbyes
    return int(ended or 0)


@pytest.fixture
async def postgres_db(fresh_database_url: str) -> AsyncIterator[Database]:
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    database = Database(fresh_database_url)
    yield database
    await database.dispose()


async def test_a_terminated_pooled_connection_is_replaced_at_checkout(
    postgres_db: Database,
) -> None:
    first = await backend_pid(postgres_db)
    async with Database(postgres_db.url).engine.connect() as admin:
        # Waits (up to 5 s) until the backend has exited, not only until it is signalled.
        await admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
    await asyncio.sleep(0.2)  # the event loop reads the server's goodbye
    second = await backend_pid(postgres_db)  # no error: the dead connection was never used
    assert second != first


@pytest.fixture
async def app_on_fresh_postgres(
    fresh_database_url: str, keys_file
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Database]]:  # type: ignore[no-untyped-def]
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    application = create_app(make_settings(fresh_database_url, keys_file))
    async with application.router.lifespan_context(application):
        database = Database(fresh_database_url)
        async with asgi_client(application) as client:
            yield application, client, database
        await database.dispose()


async def test_the_next_verify_after_the_servers_sessions_end_is_answered(
    app_on_fresh_postgres: tuple[FastAPI, httpx.AsyncClient, Database], keys_file
) -> None:  # type: ignore[no-untyped-def]
    _, api, db = app_on_fresh_postgres
    rrn = new_rrn()
    async with db.transaction() as session:
        await add_person(session, KeySet.load(keys_file), NewPerson(parse_rrn(rrn), "홍길동"))
    headers = await bearer(api, await new_client(db, organisation="MCST"))
    body = {
        "subject": {"rrn": rrn},
        "programme": "MCST-TRAVEL-VOUCHER",
        "attributes": [{"attribute": "basic_livelihood.recipient"}],
    }
    for _ in range(3):  # fill the app's pool with a few connections
        assert (await api.post("/v1/eligibility/verify", headers=headers, json=body)).is_success

    assert await terminate_others(db) >= 1
    started = utcnow()
    response = await api.post("/v1/eligibility/verify", headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["answers"][0]["answer"] is False
    assert (utcnow() - started).total_seconds() < 5
