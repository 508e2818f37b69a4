"""`hub alerts work` as real processes, on both databases: a worker killed with SIGKILL in the
middle of deliveries loses nothing (its leases run out and a restarted worker sends again:
every event is delivered at least once), two workers share the queue without sending anything
twice at once, and `hub alerts status` / `replay` report and requeue."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from click.testing import Result
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.database import Database
from hub.settings import Settings
from hub.vault import KeySet
from tests.alerts.receiver import Receiver
from tests.alerts.support import deliveries, enrol, event, organisation, person, report, subscribe

ROOT = Path(__file__).resolve().parents[2]


def environment(settings: Settings, lease: float = 10.0, **extra: str) -> dict[str, str]:
    return os.environ | {
        "HUB_DATABASE_URL": settings.database,
        "HUB_KEYS_FILE": str(settings.keys_path),
        "HUB_PUBLIC_URL": settings.public_url,
        "HUB_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "HUB_ALERT_RETRY_SCHEDULE": "0.05,0.1,0.2",
        "HUB_ALERT_LEASE": str(lease),
        "HUB_ALERT_TIMEOUT": str(min(5.0, lease - 0.5)),
        "HUB_ALERT_POLL_INTERVAL": "0.05",
        "HUB_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def workers(
    settings: Settings, count: int = 1, lease: float = 10.0
) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "alerts", "work"],
            cwd=ROOT,
            env=environment(settings, lease),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


async def wait_for(condition: Callable[[], Awaitable[bool]], within: float = 120.0) -> None:
    """Polls until `condition` holds; the bound is generous because CI machines are shared."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_delivery_loses_nothing(
    api: httpx.AsyncClient,
    db: Database,
    keys: KeySet,
    alerts_settings: Settings,
    receiver: Receiver,
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    ministry = await organisation(api, db)
    people = [await person(db, keys) for _ in range(20)]
    for who in people:
        await enrol(db, who, "MOEL-NATIONAL-EMPLOYMENT-SUPPORT", ministry.code)
    url, endpoint = receiver.endpoint("killed", delay=4.0)  # answers after the kill
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    await report(api, registry, *(event(who, "person.died") for who in people))

    with workers(alerts_settings, lease=5.5) as (first,):  # a short lease: a quick restart

        async def in_flight() -> bool:
            return endpoint.started >= 5

        await wait_for(in_flight)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    rows = await deliveries(db, sub["id"])
    assert len(rows) == 20
    assert all(row.status == "pending" for row in rows)
    assert any(row.claimed_until is not None for row in rows)  # the dead worker's leases

    endpoint.delay = 0.0
    with workers(alerts_settings, lease=5.5):

        async def all_delivered() -> bool:
            return all(row.status == "delivered" for row in await deliveries(db, sub["id"]))

        await wait_for(all_delivered)
    rows = await deliveries(db, sub["id"])
    assert len(rows) == 20  # nothing lost
    assert {str(row.id) for row in rows} <= set(endpoint.accepted)  # each at least once
    assert endpoint.rejected == 0


async def test_two_workers_share_the_queue_and_the_cli_reports_and_replays(
    api: httpx.AsyncClient,
    db: Database,
    keys: KeySet,
    alerts_settings: Settings,
    receiver: Receiver,
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    ministry = await organisation(api, db)
    people = [await person(db, keys) for _ in range(40)]
    for who in people:
        await enrol(db, who, "MOEL-NATIONAL-EMPLOYMENT-SUPPORT", ministry.code)
    url, endpoint = receiver.endpoint("shared", delay=0.05)
    sub = await subscribe(api, ministry, ["person.died"], url)
    endpoint.secret = sub["secret"]
    dead_url, dead_endpoint = receiver.endpoint("dead-letters", always=500)
    dead_sub = await subscribe(api, ministry, ["person.died"], dead_url)
    dead_endpoint.secret = dead_sub["secret"]
    await report(api, registry, *(event(who, "person.died") for who in people))

    with workers(alerts_settings, 2):

        async def settled() -> bool:
            rows = await deliveries(db, sub["id"]) + await deliveries(db, dead_sub["id"])
            return all(row.status in ("delivered", "dead") for row in rows)

        await wait_for(settled)
    assert len(endpoint.accepted) == 40
    assert endpoint.duplicates == 0  # leases kept the two workers apart

    runner = CliRunner()
    env = environment(alerts_settings, COLUMNS="250")

    def hub(*args: str) -> Result:  # in a thread: the command runs its own event loop
        return runner.invoke(cli, list(args), env=env)

    status = await asyncio.to_thread(hub, "alerts", "status")
    assert status.exit_code == 0, status.output
    line = next(row for row in status.output.splitlines() if dead_sub["id"][:12] in row)
    assert "40" in line
    replayed = await asyncio.to_thread(hub, "alerts", "replay", "--subscription", dead_sub["id"])
    assert replayed.exit_code == 0, replayed.output
    assert "40 dead-lettered deliveries queued again" in replayed.output
    assert {row.status for row in await deliveries(db, dead_sub["id"])} == {"pending"}
    dead_endpoint.always = 200
    once = await asyncio.to_thread(hub, "alerts", "work", "--once")
    assert once.exit_code == 0, once.output
    assert "40 delivered" in once.output
    assert len(dead_endpoint.accepted) == 40
