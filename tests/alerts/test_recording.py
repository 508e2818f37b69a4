"""Recording outcomes, on both databases: attempts whose outcome could not be written (the
receiver answered, then the worker failed before recording: as if it had died there) are sent
again once their lease runs out, and every other attempt is recorded exactly once. At least
once, never lost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.alerts import queue
from hub.database import Database
from hub.vault import KeySet
from tests.alerts.receiver import Receiver
from tests.alerts.support import (
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

PROGRAMME = "MOGEF-CHILD-CARE-SERVICE"


async def test_outcomes_lost_before_recording_are_sent_again(
    api: httpx.AsyncClient,
    db: Database,
    keys: KeySet,
    alerts_app: FastAPI,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    ministry = await organisation(api, db)
    people = [await person(db, keys) for _ in range(12)]
    for who in people:
        await enrol(db, who, PROGRAMME, ministry.code)
    url, endpoint = receiver.endpoint("forgotten")
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, *(event(who, "person.died") for who in people))

    record, failed = queue.record, []

    async def fails_at_first(session: Any, name: str, attempts: Sequence[Any], *rest: Any) -> Any:
        if not failed:  # the first batch's outcomes are never written
            failed.extend(a.claimed.alert.id for a in attempts)
            raise ConnectionError("the database went away")
        return await record(session, name, attempts, *rest)

    monkeypatch.setattr(queue, "record", fails_at_first)

    async def all_delivered() -> bool:
        return all(row.status == "delivered" for row in await deliveries(db, sub["id"]))

    await run_until(worker(alerts_app, db, alert_concurrency=4), all_delivered, within=30)
    rows = await deliveries(db, sub["id"])
    assert failed
    assert {str(row.id) for row in rows} == set(endpoint.accepted)  # every one, once each
    assert endpoint.duplicates == len(failed)  # the lost ones were sent again
    assert all(row.attempts == 1 for row in rows if row.id not in failed)
    assert all(row.claimed_by is None for row in rows)
