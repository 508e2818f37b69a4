"""Shared fixtures: real databases (SQLite always, PostgreSQL when HUB_TEST_POSTGRES_URL is
set), a real key set, the real app over httpx's ASGI transport, and a real uvicorn server.

Database tests are parametrised over the backends, so `make test` runs them on SQLite and
again on PostgreSQL. Each PostgreSQL run works in a database of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from hub import migrations
from hub.database import Database
from hub.kit.clock import utcnow
from hub.main import create_app
from hub.settings import Settings, normalise_database_url
from hub.vault import KeySet
from tests.factories import LiveServer, asgi_client

POSTGRES_URL = os.environ.get("HUB_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


async def _admin(sql: str) -> None:
    import asyncpg

    assert POSTGRES_URL
    url = make_url(POSTGRES_URL)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_database() -> tuple[str, str]:
    """Create a fresh PostgreSQL database; return (async url, name). Fails if unreachable."""
    assert POSTGRES_URL
    name = f"hub_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_database_url(POSTGRES_URL)).set(database=name)
    return url.render_as_string(hide_password=False), name


def drop_postgres_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[str]:
    """A new database of `backend`, migrated to head; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'hub.db'}"
        migrations.upgrade(url)
        yield url
        return
    url, name = postgres_database()
    try:
        migrations.upgrade(url)
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each backend, shared by the session's tests."""
    with migrated_database(request.param, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of the same backend, for tests that touch every row."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    with migrated_database(backend, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    KeySet.generate(utcnow()).save(path)
    return path


@pytest.fixture
def keys(keys_file: Path) -> KeySet:
    """The test hub's key set, as the app under test loads it."""
    return KeySet.load(keys_file)


def make_settings(
    database_url: str, keys_file: Path, public_url: str = "https://hub.test"
) -> Settings:
    return Settings(
        database_url=database_url,
        keys_file=keys_file,
        var_dir=keys_file.parent,
        public_url=public_url,
        log_format="json",
        # The limiter stays in the path of every request, with a quota that tests making many
        # requests in a second never reach (tests/api/test_rate_limit.py sets its own).
        rate_limit="1000/second",
    )


@pytest.fixture(scope="session")
def settings(database_url: str, keys_file: Path) -> Settings:
    return make_settings(database_url, keys_file)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real application with its lifespan running (catalogue synced into the database)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def live_server(database_url: str, keys_file: Path) -> Iterator[LiveServer]:
    with LiveServer(lambda url: make_settings(database_url, keys_file, public_url=url)) as server:
        yield server
