"""Building blocks of the alerts tests: persons, enrolments, organisations with clients,
subscriptions, reported events, workers run in-process, and reading the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from hub.alerts.models import AlertDelivery, AlertSubscription
from hub.alerts.worker import Worker
from hub.database import Database
from hub.organisations import service as organisations
from hub.records.models import Enrolment
from hub.records.repository import NewPerson, add_person
from hub.settings import Settings
from hub.vault import KeySet
from hub.vault.ring import KeyRing
from schemas.identifiers import parse_rrn
from tests.factories import bearer, new_client, new_rrn

TODAY = dt.datetime.now(dt.UTC).date()
SUBSCRIBE = "alerts:subscribe"


@dataclass
class Person:
    rrn: str
    id: uuid.UUID


@dataclass
class Org:
    code: str
    client_id: str
    headers: dict[str, str]


async def person(db: Database, keys: KeySet) -> Person:
    rrn = new_rrn()
    async with db.transaction() as session:
        row = await add_person(session, keys, NewPerson(parse_rrn(rrn), "홍길동", "11350"))
        return Person(rrn, row.id)


async def enrol(
    db: Database,
    who: Person,
    programme: str,
    source: str,
    *,
    status: str = "active",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> str:
    record_id = f"E-{uuid.uuid4().hex[:12]}"
    async with db.transaction() as session:
        session.add(
            Enrolment(
                person_id=who.id,
                programme_code=programme,
                source_org=source,
                source_record_id=record_id,
                period_start=start or TODAY - dt.timedelta(days=90),
                period_end=end,
                status=status,
                fingerprint="0" * 64,
            )
        )
    return record_id


async def organisation(
    api: httpx.AsyncClient,
    db: Database,
    *,
    kind: str = "ministry",
    scopes: str = SUBSCRIBE,
    code: str | None = None,
) -> Org:
    if code is None:  # a fresh organisation, so tests never see each other's subscriptions
        code = f"T{secrets.token_hex(4).upper()}"
        async with db.transaction() as session:
            await organisations.add(
                session,
                code=code,
                kind=kind,
                name_ko="시험 기관",
                name_en="Test body",
                region_code="11350" if kind in ("local_government", "welfare_centre") else None,
            )
    credentials = await new_client(db, scopes=scopes, organisation=code)
    return Org(credentials.organisation, credentials.client_id, await bearer(api, credentials))


async def subscribe(
    api: httpx.AsyncClient, org: Org, types: list[str], url: str | None = None
) -> dict[str, Any]:
    delivery = {"mode": "webhook", "url": url} if url else {"mode": "pull"}
    response = await api.post(
        "/v1/subscriptions",
        headers=org.headers,
        json={"event_types": types, "delivery": delivery},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def event(
    who: Person, type_: str = "person.died", *, day: dt.date | None = None, **details: str
) -> dict[str, Any]:
    return {
        "subject": {"rrn": who.rrn},
        "type": type_,
        "effective_date": (day or TODAY).isoformat(),
        "source_event_id": f"EV-{uuid.uuid4().hex[:16]}",
        "reported_at": dt.datetime.now(dt.UTC).isoformat(),
        "details": details,
    }


async def report(
    api: httpx.AsyncClient, registry: Org, *events: dict[str, Any], key: str | None = None
) -> None:
    """POST the events as the registry (with `key` as the Idempotency-Key); 202 expected."""
    headers = registry.headers | ({"Idempotency-Key": key} if key else {})
    response = await api.post("/v1/events", headers=headers, json={"events": list(events)})
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": len(events)}


async def deliveries(db: Database, subscription_id: str) -> list[AlertDelivery]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.subscription_id == subscription_id)
            .order_by(AlertDelivery.seq)
        )
        return list(rows)


async def subscription_row(db: Database, subscription_id: str) -> AlertSubscription:
    async with db.transaction() as session:
        row = await session.get(AlertSubscription, subscription_id)
        assert row is not None
        return row


def worker(app: FastAPI, db: Database, **overrides: Any) -> Worker:
    settings: Settings = app.state.settings.model_copy(update=overrides)
    return Worker(db, settings, KeyRing(settings.keys_path), app.state.catalogue)


async def run_until(
    work: Worker, done: Callable[[], Awaitable[bool]], within: float = 15.0
) -> None:
    """Run `work` in the background until `done()` holds (or fail after `within` seconds)."""
    task = asyncio.create_task(work.run_forever())
    deadline = time.monotonic() + within
    try:
        while not await done():
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, "timed out waiting for the worker"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
