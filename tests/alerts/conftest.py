"""The alerts tests' own database per backend and an app whose in-process worker is off, so
each test runs workers itself (in-process or as `hub alerts work` processes), with a retry
schedule compressed to fractions of a second and private webhook targets allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.database import Database
from hub.main import create_app
from hub.settings import Settings
from hub.vault import KeySet
from tests.alerts.receiver import Receiver
from tests.conftest import BACKENDS, make_settings, migrated_database
from tests.factories import asgi_client

SCHEDULE = (0.05, 0.1, 0.2)


@pytest.fixture(scope="package", params=BACKENDS)
def alerts_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with migrated_database(request.param, tmp_path_factory.mktemp("alerts")) as url:
        yield url


@pytest.fixture(scope="package")
def alerts_settings(alerts_database_url: str, keys_file: Path) -> Settings:
    return make_settings(alerts_database_url, keys_file).model_copy(
        update={
            "alert_worker": False,
            "alerts_allow_private_targets": True,
            "alert_retry_schedule": SCHEDULE,
            "alert_lease": 2.0,
            "alert_timeout": 1.5,
            "alert_poll_interval": 0.02,
            "sequencer": False,
        }
    )


@pytest.fixture(scope="package")
async def alerts_app(alerts_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(alerts_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(alerts_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(alerts_app) as client:
        yield client


@pytest.fixture(scope="package")
async def db(alerts_settings: Settings) -> AsyncIterator[Database]:
    database = Database(alerts_settings.database)
    yield database
    await database.dispose()


@pytest.fixture
def keys(keys_file: Path) -> KeySet:
    return KeySet.load(keys_file)


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
