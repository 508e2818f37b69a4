"""Crash recovery (issue 9): `kill -9` of a real `hub serve` in the middle of an ingestion and
in the middle of alert deliveries, then a restart, on both databases.

What must hold: nothing a caller was told was accepted is lost, nothing is applied twice, and
`hub audit verify` passes over the log written before and after the crash. An ingestion is one
transaction per file, so a file cut off by the crash leaves nothing behind and is simply sent
again; deliveries are leased, so a dead process's leases run out and the restarted one sends
again (receivers deduplicate on `webhook-id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import func, select

from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.ingest.models import IngestBatch
from hub.ingest.pipeline import LOCK
from hub.records.models import Enrolment
from hub.vault import KeySet
from schemas.catalogue import load_catalogue
from tests.alerts.receiver import Receiver
from tests.alerts.support import enrol, person
from tests.duplicates.sources import Row, mohw_csv
from tests.factories import Credentials, free_port, new_client, new_rrn

ROOT = Path(__file__).resolve().parents[2]
ROWS = 30_000


class Hub:
    """`hub serve` as its own process, so it can be killed with SIGKILL."""

    def __init__(self, database_url: str, keys_file: Path, log: Path, **settings: str) -> None:
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {
            "HUB_DATABASE_URL": database_url,
            "HUB_KEYS_FILE": str(keys_file),
            "HUB_PUBLIC_URL": self.url,
            "HUB_LOG_LEVEL": "WARNING",
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:  # warnings and errors only (HUB_LOG_LEVEL)
            self.process = subprocess.Popen(  # noqa: ASYNC220 (starting it does not block)
                [sys.executable, "-m", "hub.cli", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        async with httpx.AsyncClient(base_url=self.url) as client:
            deadline = time.monotonic() + 60
            while True:
                assert self.process.poll() is None, self.log.read_text()[-2000:]
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                assert time.monotonic() < deadline, "hub serve did not become ready"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    async def headers(self, credentials: Credentials) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": credentials.basic},
            )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@contextlib.asynccontextmanager
async def prepared(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        yield db
    finally:
        await db.dispose()


async def wait_for(condition: Callable[[], Awaitable[bool]], within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def writing(database_url: str) -> bool:
    """Whether an ingestion's transaction is open right now, seen from outside the hub: on
    PostgreSQL its advisory lock is held; on SQLite the one write lock is taken."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            connection.close()
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        async with connection.transaction():
            return not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK)
    finally:
        await connection.close()


async def counts(db: Database) -> tuple[int, list[tuple[str, int]]]:
    """Enrolments stored, and the batches as (status, inserted)."""
    async with db.transaction() as session:
        enrolments = await session.scalar(select(func.count()).select_from(Enrolment))
        batches = (
            await session.execute(
                select(IngestBatch.status, IngestBatch.inserted).order_by(IngestBatch.started_at)
            )
        ).all()
    return int(enrolments or 0), [tuple(b) for b in batches]


def audit(hub: Hub) -> str:
    """Sequence what is left, then verify the whole log, as an operator would after a
    crash (`hub audit sequence`, `hub audit verify`, with the hub's settings: its public URL
    names the log); the verifier's report."""
    env = hub.env | {"COLUMNS": "200"}
    output = ""
    for command in ("sequence", "verify"):
        done = subprocess.run(
            [sys.executable, "-m", "hub.cli", "audit", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
    return output


async def verify_some(hub: Hub, headers: dict[str, str], rrns: list[str]) -> None:
    """Eligibility answers (each a disclosure-log entry) before and after the crash."""
    async with httpx.AsyncClient(base_url=hub.url, headers=headers) as client:
        for rrn in rrns:
            response = await client.post(
                "/v1/eligibility/verify",
                json={
                    "subject": {"rrn": rrn},
                    "programme": "MCST-TRAVEL-VOUCHER",
                    "attributes": [{"attribute": "basic_livelihood.recipient"}],
                },
            )
            assert response.status_code == 200, response.text


async def test_a_hub_killed_mid_ingestion_applies_the_file_once_after_restart(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    rrns = [new_rrn() for _ in range(ROWS)]
    start = dt.date(2024, 1, 1)
    content = mohw_csv(
        [Row(f"C{i:06d}", rrn, "MOHW-BLS-LIVELIHOOD", start, None) for i, rrn in enumerate(rrns)]
    )
    async with prepared(fresh_database_url) as db:
        sender = await new_client(db, scopes="records:write", organisation="MOHW")
        asker = await new_client(db, scopes="eligibility:verify", organisation="MCST")
        hub = Hub(fresh_database_url, keys_file, tmp_path / "hub.log")
        try:
            await hub.start()
            await verify_some(hub, await hub.headers(asker), rrns[:5])  # logged before
            headers = await hub.headers(sender)
            files = {"file": ("mohw.csv", content, "text/csv")}
            async with httpx.AsyncClient(base_url=hub.url, timeout=300) as client:
                upload = asyncio.create_task(
                    client.post("/v1/ingest/mohw", headers=headers, files=files)
                )
                await wait_for(lambda: writing(fresh_database_url))
                await asyncio.sleep(0.5)  # well into the file
                assert await writing(fresh_database_url), "the ingestion ended before the kill"
                hub.kill()
                with contextlib.suppress(httpx.TransportError):
                    response = await upload
                    raise AssertionError(f"the upload was answered: {response.status_code}")
            # Nothing of the file was applied, and nothing was reported accepted.
            assert await counts(db) == (0, [])

            await hub.start()
            headers = await hub.headers(sender)
            async with httpx.AsyncClient(base_url=hub.url, timeout=300) as client:
                first = await client.post("/v1/ingest/mohw", headers=headers, files=files)
                again = await client.post("/v1/ingest/mohw", headers=headers, files=files)
            assert first.status_code == again.status_code == 201, first.text
            assert (first.json()["inserted"], first.json()["rejected"]) == (ROWS, 0)
            assert (again.json()["inserted"], again.json()["unchanged"]) == (0, ROWS)
            assert await counts(db) == (ROWS, [("completed", ROWS), ("completed", 0)])
            await verify_some(hub, await hub.headers(asker), rrns[-5:])  # logged after
        finally:
            hub.stop()
    assert ": 10 entries," in await asyncio.to_thread(audit, hub)  # 5 before, 5 after


async def test_a_hub_killed_mid_delivery_delivers_everything_after_restart(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    keys = KeySet.load(keys_file)
    async with prepared(fresh_database_url) as db:
        registry = await new_client(db, scopes="events:write", organisation="MOIS-RRS")
        ministry = await new_client(db, scopes="alerts:subscribe", organisation="MOEL")
        people = [await person(db, keys) for _ in range(20)]
        for who in people:
            await enrol(db, who, "MOEL-NATIONAL-EMPLOYMENT-SUPPORT", "MOEL")
        with Receiver() as receiver:
            url, endpoint = receiver.endpoint("moel", delay=4.0)  # still waiting at the kill
            hub = Hub(
                fresh_database_url,
                keys_file,
                tmp_path / "hub.log",
                HUB_ALERTS_ALLOW_PRIVATE_TARGETS="true",
                HUB_ALERT_LEASE="5.5",
                HUB_ALERT_TIMEOUT="5",
                HUB_ALERT_POLL_INTERVAL="0.05",
                HUB_ALERT_RETRY_SCHEDULE="0.05,0.1,0.2",
            )
            try:
                await hub.start()
                async with httpx.AsyncClient(base_url=hub.url) as client:
                    created = await client.post(
                        "/v1/subscriptions",
                        headers=await hub.headers(ministry),
                        json={
                            "event_types": ["person.died"],
                            "delivery": {"mode": "webhook", "url": url},
                        },
                    )
                    assert created.status_code == 201, hub.log.read_text()[-2000:]
                    endpoint.secret = created.json()["secret"]
                    today = dt.datetime.now(dt.UTC).date().isoformat()
                    reported = await client.post(
                        "/v1/events",
                        headers=await hub.headers(registry),
                        json={
                            "events": [
                                {
                                    "subject": {"rrn": who.rrn},
                                    "type": "person.died",
                                    "effective_date": today,
                                    "source_event_id": f"D-{n}",
                                    "reported_at": dt.datetime.now(dt.UTC).isoformat(),
                                    "details": {},
                                }
                                for n, who in enumerate(people)
                            ]
                        },
                    )
                    assert reported.status_code == 202, reported.text

                async def in_flight() -> bool:
                    return endpoint.started >= 5

                await wait_for(in_flight)
                hub.kill()
                assert len(endpoint.accepted) < len(people)  # the kill came mid-delivery

                endpoint.delay = 0.0
                await hub.start()

                async def all_accepted() -> bool:
                    return len(endpoint.accepted) == len(people)

                await wait_for(all_accepted)
            finally:
                hub.stop()
        assert endpoint.rejected == 0  # every attempt, before and after, verified
    assert ": 20 entries," in await asyncio.to_thread(audit, hub)  # one per delivery
