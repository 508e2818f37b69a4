"""Backpressure on POST /v1/events (hub.alerts.admission): with HUB_ALERT_ADMISSION_LAG set,
intake waits while the oldest due delivery has waited longer than the lag, resumes as soon as
a worker catches up, and after HUB_ALERT_ADMISSION_WAIT records the events anyway. A request
sent again with its Idempotency-Key is answered at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from hub.alerts import admission
from hub.alerts.models import DELIVERED, PENDING
from hub.database import Database
from hub.kit.clock import utcnow
from hub.main import create_app
from hub.records.models import StatusEvent
from hub.settings import Settings
from hub.vault import KeySet
from tests.alerts.receiver import Receiver
from tests.alerts.support import (
    Org,
    deliveries,
    enrol,
    event,
    organisation,
    person,
    report,
    run_until,
    subscribe,
    worker,
)
from tests.conftest import migrated_database
from tests.factories import asgi_client

LAG, WAIT = 0.3, 1.5


@pytest.fixture
def admitting_url(alerts_database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own: the lag is the whole queue's, and other tests leave rows due."""
    backend = "sqlite" if alerts_database_url.startswith("sqlite") else "postgres"
    with migrated_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
async def admitting(alerts_settings: Settings, admitting_url: str) -> AsyncIterator[FastAPI]:
    settings = alerts_settings.model_copy(
        update={
            "database_url": admitting_url,
            "alert_admission_lag": LAG,
            "alert_admission_wait": WAIT,
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _timed_report(
    api: httpx.AsyncClient, registry: Org, body: dict, *, key: str | None = None
) -> float:
    started = time.monotonic()
    await report(api, registry, body, key=key)
    return time.monotonic() - started


async def _recorded(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(StatusEvent)) or 0)


async def test_intake_waits_for_delivery_then_records_anyway(
    admitting: FastAPI, receiver: Receiver, keys: KeySet
) -> None:
    db: Database = admitting.state.db
    async with asgi_client(admitting) as api:
        registry = await organisation(api, db, kind="registry", scopes="events:write")
        ministry = await organisation(api, db)
        url, endpoint = receiver.endpoint("admission")
        subscription = await subscribe(api, ministry, ["person.died"], url)
        endpoint.secret = subscription["secret"]
        people = [await person(db, keys) for _ in range(4)]
        for who in people:
            await enrol(db, who, "MOHW-BLS-LIVELIHOOD", ministry.code)

        # Nothing is due yet: admitted at once, and the death is queued for the ministry.
        assert await _timed_report(api, registry, event(people[0])) < LAG
        assert [d.status for d in await deliveries(db, subscription["id"])] == [PENDING]
        # Just queued: due, but not late by more than the lag.
        assert await _timed_report(api, registry, event(people[1])) < LAG

        # No worker runs, so the queue falls behind: the next report waits the longest
        # allowed, then is recorded all the same.
        await asyncio.sleep(LAG + 0.2)
        assert await admission.delivery_lag(db.engine, utcnow()) > LAG
        death = event(people[2])
        waited = await _timed_report(api, registry, death, key="deaths-3")
        assert WAIT <= waited < WAIT + 2.0
        assert await _recorded(db) == 3
        # The same request sent again is answered from its first answer, without waiting.
        assert await admission.delivery_lag(db.engine, utcnow()) > LAG
        assert await _timed_report(api, registry, death, key="deaths-3") < LAG
        assert await _recorded(db) == 3

        # A worker that catches up ends the wait early.
        async def catch_up() -> None:
            await asyncio.sleep(0.3)
            work = worker(admitting, db)

            async def all_sent() -> bool:
                rows = await deliveries(db, subscription["id"])
                return all(d.status == DELIVERED for d in rows)

            await run_until(work, all_sent)

        catching_up = asyncio.create_task(catch_up())
        waited = await _timed_report(api, registry, event(people[3]))
        await catching_up
        assert 0.3 <= waited < WAIT, waited
        assert await _recorded(db) == 4
        assert len(endpoint.accepted) >= 3  # the earlier deaths reached the ministry, verified
        assert endpoint.rejected == 0


async def test_without_a_lag_set_intake_never_waits(
    api: httpx.AsyncClient, alerts_app: FastAPI, keys: KeySet
) -> None:
    """The default (HUB_ALERT_ADMISSION_LAG=0): events are recorded at once, however late
    delivery is."""
    assert alerts_app.state.settings.alert_admission_lag == 0
    started = time.monotonic()
    assert await admission.admit(alerts_app.state.db.engine, lag=0, longest=WAIT) == 0.0
    assert time.monotonic() - started < 0.05
