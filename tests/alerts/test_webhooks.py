"""Webhook delivery to a real receiver on 127.0.0.1, on both databases: CloudEvents signed per
Standard Webhooks (verified by the standardwebhooks library, parsed by the cloudevents SDK),
retries on the compressed schedule, Retry-After, 410 Gone, dead letters and their replay, a
receiver that is down for most of the schedule, and a target that stops passing the SSRF check."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from hub.alerts import queue
from hub.database import Database
from hub.kit.clock import utcnow
from hub.vault import KeySet, subject_ref
from tests.alerts.conftest import SCHEDULE
from tests.alerts.receiver import Receiver
from tests.alerts.support import (
    Org,
    Person,
    deliveries,
    enrol,
    event,
    organisation,
    person,
    report,
    run_until,
    subscribe,
    subscription_row,
    worker,
)
from tests.factories import free_port

PROGRAMME = "MOGEF-CHILD-CARE-SERVICE"


async def served(
    api: httpx.AsyncClient, db: Database, keys: KeySet, n: int = 1
) -> tuple[Org, Org, list[Person]]:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    ministry = await organisation(api, db)
    people = [await person(db, keys) for _ in range(n)]
    for who in people:
        await enrol(db, who, PROGRAMME, ministry.code)
    return registry, ministry, people


def statuses(rows: list) -> list[str]:  # type: ignore[type-arg]
    return sorted({row.status for row in rows})


async def test_a_failed_attempt_is_retried_and_the_receiver_accepts_each_event_once(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI, receiver: Receiver
) -> None:
    registry, ministry, (who,) = await served(api, db, keys)
    url, endpoint = receiver.endpoint("retried", script=[500])
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, event(who, "person.died"))

    await run_until(worker(alerts_app, db), lambda: _all(db, sub["id"], "delivered"))

    assert [a.status for a in endpoint.attempts] == [500, 200]
    assert len({a.webhook_id for a in endpoint.attempts}) == 1  # the same id on the retry
    assert endpoint.rejected == 0
    assert endpoint.duplicates == 0
    (received,) = endpoint.accepted.values()
    (row,) = await deliveries(db, sub["id"])
    assert received.get_id() == str(row.id)
    assert row.attempts == 2
    assert received.get_type() == "kr.welfarehub.person.died"
    assert received.get_source() == "https://hub.test/sources/" + registry.code
    assert received.get_extension("sequence") == "1"
    data = received.get_data()
    assert isinstance(data, dict)
    assert data["subject_ref"] == subject_ref(keys, who.id, ministry.code)
    assert who.rrn not in str(data)


async def _all(db: Database, subscription_id: str, status: str) -> bool:
    rows = await deliveries(db, subscription_id)
    return bool(rows) and all(row.status == status for row in rows)


async def test_410_gone_disables_the_subscription(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI, receiver: Receiver
) -> None:
    registry, ministry, (first, second) = await served(api, db, keys, 2)
    url, endpoint = receiver.endpoint("gone", always=410)
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, event(first, "person.died"))
    await run_until(worker(alerts_app, db), lambda: _all(db, sub["id"], "dead"))

    row = await subscription_row(db, sub["id"])
    assert row.status == "disabled"
    assert "410" in (row.status_reason or "")
    assert len(endpoint.attempts) == 1  # never retried
    await report(api, registry, event(second, "person.died"))
    assert len(await deliveries(db, sub["id"])) == 1  # a disabled subscription gets nothing new
    read = await api.get(f"/v1/subscriptions/{sub['id']}", headers=ministry.headers)
    assert read.json()["status"] == "disabled"
    assert read.json()["deliveries"] == {"dead": 1}


async def test_retry_after_is_honoured(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI, receiver: Receiver
) -> None:
    registry, ministry, (who,) = await served(api, db, keys)
    url, endpoint = receiver.endpoint("busy", script=[503], retry_after="1")
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, event(who, "person.died"))
    await run_until(worker(alerts_app, db), lambda: _all(db, sub["id"], "delivered"))
    first, second = endpoint.attempts
    assert (first.status, second.status) == (503, 200)
    assert second.at - first.at >= 0.95  # not the schedule's 0.05 s


async def test_dead_letters_after_the_schedule_and_replay_delivers_them(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI, receiver: Receiver
) -> None:
    registry, ministry, people = await served(api, db, keys, 3)
    url, endpoint = receiver.endpoint("broken", always=500)
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, *(event(who, "person.died") for who in people))
    await run_until(worker(alerts_app, db), lambda: _all(db, sub["id"], "dead"))
    rows = await deliveries(db, sub["id"])
    assert {row.attempts for row in rows} == {len(SCHEDULE) + 1}
    assert {row.last_error for row in rows} == {"HTTP 500"}
    assert len(endpoint.attempts) == 3 * (len(SCHEDULE) + 1)
    assert not endpoint.accepted

    endpoint.always = 200
    async with db.transaction() as session:
        assert await queue.replay(session, utcnow(), subscription_id=sub["id"]) == 3
    await run_until(worker(alerts_app, db), lambda: _all(db, sub["id"], "delivered"))
    assert len(endpoint.accepted) == 3


async def test_a_receiver_down_for_most_of_the_schedule_gets_everything_when_it_returns(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI
) -> None:
    registry, ministry, people = await served(api, db, keys, 5)
    port = free_port()
    late = Receiver(port)
    url, endpoint = late.endpoint("late")
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, *(event(who, "person.died") for who in people))
    schedule = (0.3, 0.6, 1.2, 2.4)  # 4.5 s in all; the receiver comes back after about 2 s
    work = worker(alerts_app, db, alert_retry_schedule=schedule)

    async def comes_back() -> None:
        await asyncio.sleep(2.0)
        late.__enter__()

    returning = asyncio.create_task(comes_back())
    try:
        await run_until(work, lambda: _all(db, sub["id"], "delivered"), within=20)
    finally:
        await returning
        late.__exit__()
    rows = await deliveries(db, sub["id"])
    assert all(row.attempts > 1 for row in rows)  # each failed before the receiver returned
    assert len(endpoint.accepted) == 5
    assert endpoint.duplicates == 0


async def test_a_target_that_no_longer_passes_the_check_is_never_called(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI, receiver: Receiver
) -> None:
    registry, ministry, (who,) = await served(api, db, keys)
    url, endpoint = receiver.endpoint("rebound")
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, event(who, "person.died"))
    strict = worker(alerts_app, db, alerts_allow_private_targets=False)
    await run_until(strict, lambda: _attempted(db, sub["id"]))
    (row,) = await deliveries(db, sub["id"])
    assert row.status == "pending"
    assert (row.last_error or "").startswith("target refused")
    assert endpoint.started == 0


async def _attempted(db: Database, subscription_id: str) -> bool:
    rows = await deliveries(db, subscription_id)
    return bool(rows) and all(row.attempts >= 1 for row in rows)


async def test_deleting_a_subscription_stops_its_pending_deliveries(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI, receiver: Receiver
) -> None:
    registry, ministry, (who,) = await served(api, db, keys)
    url, endpoint = receiver.endpoint("deleted")
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, event(who, "person.died"))
    deleted = await api.delete(f"/v1/subscriptions/{sub['id']}", headers=ministry.headers)
    assert deleted.status_code == 204
    await worker(alerts_app, db).run_once()
    (row,) = await deliveries(db, sub["id"])
    assert row.status == "dead"
    assert row.last_error == "the subscription was deleted"
    assert endpoint.started == 0
