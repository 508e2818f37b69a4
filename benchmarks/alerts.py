"""Alerts benchmark (issue 7): 10,000 death events fanned out to 11 subscriber endpoints on
127.0.0.1, on PostgreSQL, delivered by 2 `hub alerts work` processes.

    .venv/bin/python benchmarks/alerts.py                       # 10,000 events, 11 ministries
    .venv/bin/python benchmarks/alerts.py --events 2000 --rate 25 --batch 5  # paced
    .venv/bin/python benchmarks/alerts.py --events 2000 --queue-first  # delivery alone

Each run builds a fresh database (`hub_bench_alerts`): the catalogue, 10,000 persons each
enrolled with all 11 ministries (so every death is news to all of them), one webhook
subscription per ministry, each to its own port of a receiver process that verifies every
request with the standardwebhooks library and parses it with the cloudevents SDK, as a
ministry's receiver would, and acknowledges it with 200. Then a real `hub serve` (its own
alerts worker off, its disclosure-log sequencer on) takes the deaths from the registry's
client over POST /v1/events, in requests of --batch events with two in flight: as fast as it
accepts them (a burst: latency is then mostly waiting in the queue), or paced at --rate events
per second (steady state). Each request fans its events out in its own transaction; the
--workers processes deliver meanwhile, or, with --queue-first, are held stopped until every
event is queued, so that delivery is timed alone.

Figures: the rate at which the hub accepted events; deliveries per second from the first
fan-out to the last acknowledgement; and per delivery the latency from its fan-out
transaction's timestamp (taken at the start of that transaction, so a little before its
commit: the figures err on the slow side) to the receiver's acknowledgement, on the same
clock, and from the registry's view: from sending the request that carried the event. With
--admission-lag the hub runs with backpressure (hub.alerts.admission): it holds a request
while delivery is behind, so the two latencies differ by that wait.

Everything shares the machine's cores: PostgreSQL, the hub, the workers, the
receiver and the load generator; so the CPU each of them spent over the run is reported too,
per delivery, which holds on a shared machine where the rates do not.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.alerts_processes import cpu_seconds, cpu_used, receive, settle  # noqa: E402

HUB = str(Path(sys.executable).with_name("hub"))
REGISTRY = "MOIS-RRS"
DEFAULT_ADMIN_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# -- preparation ------------------------------------------------------------------------------


async def prepare(args: argparse.Namespace, url: str, keys: Path, ports: list[int]) -> dict:
    """Persons, enrolments, subscriptions and the registry's client, written in bulk."""
    import hub.models  # noqa: F401 (every table registered)
    from hub.alerts import subscriptions
    from hub.auth import service as auth_service
    from hub.catalogue import service as catalogue_service
    from hub.database import Database, bulk_insert
    from hub.kit.ids import new_uuids
    from hub.records.models import Enrolment, Person
    from hub.records.repository import seal
    from hub.vault import KeySet, blind_index
    from schemas.catalogue import load_catalogue
    from schemas.identifiers import parse_rrn

    catalogue = load_catalogue()
    keyset = KeySet.load(keys)
    ministries = [o.code for o in catalogue.ministries()][: args.subscribers]
    programmes = {m: catalogue.programmes_of(m)[0].code for m in ministries}
    db = Database(url)
    try:
        await catalogue_service.sync_if_changed(db, catalogue)
        rrns, persons, enrolments = [], [], []
        start = dt.date(1940, 1, 1)
        for i, person_id in enumerate(new_uuids(args.events)):
            born = start + dt.timedelta(days=i % 20_000)
            rrn = parse_rrn(f"{born:%y%m%d}-{1 + i % 2}{i:06d}")
            sealed, index = seal(keyset, person_id, rrn), blind_index(keyset, rrn)
            rrns.append(f"{born:%y%m%d}-{1 + i % 2}{i:06d}")
            persons.append(
                {"id": person_id, "rrn_kid": sealed.kid, "rrn_sealed": sealed.blob,
                 "rrn_index_kid": index.kid, "rrn_index": index.digest, "name": "홍길동",
                 "birth_date": born, "sex": rrn.sex, "region_code": "11350",
                 "household_id": None, "civil_status": "alive", "civil_status_date": None,
                 "created_at": dt.datetime.now(dt.UTC), "updated_at": dt.datetime.now(dt.UTC)}
            )  # fmt: skip
            for ministry in ministries:
                enrolments.append(
                    {"id": None, "person_id": person_id, "programme_code": programmes[ministry],
                     "source_org": ministry, "source_record_id": f"{ministry}-{i}",
                     "period_start": dt.date(2020, 1, 1), "period_end": None, "status": "active",
                     "amount_won": None, "fingerprint": "0" * 64, "batch_id": None,
                     "created_at": dt.datetime.now(dt.UTC), "updated_at": dt.datetime.now(dt.UTC)}
                )  # fmt: skip
        for row, enrolment_id in zip(enrolments, new_uuids(len(enrolments)), strict=True):
            row["id"] = enrolment_id
        secrets_by_port = []
        async with db.transaction() as session:
            await bulk_insert(session, Person.__table__, persons)
            await bulk_insert(session, Enrolment.__table__, enrolments)
            for ministry, port in zip(ministries, ports, strict=True):
                created = await subscriptions.create(
                    session, keyset, organisation=ministry, client_id="benchmark",
                    event_types=["person.died"], url=f"http://127.0.0.1:{port}/hook",
                    allow_private=True, now=dt.datetime.now(dt.UTC),
                )  # fmt: skip
                secrets_by_port.append((port, created.secret))
            registered = await auth_service.register_client(
                session, organisation=REGISTRY, name="alerts benchmark", scopes="events:write"
            )
        return {
            "rrns": rrns,
            "secrets": secrets_by_port,
            "client": (registered.client.client_id, registered.secret),
            "ministries": ministries,
        }
    finally:
        await db.dispose()


# -- the run ----------------------------------------------------------------------------------


async def post_events(
    base: str,
    client: tuple[str, str],
    rrns: list[str],
    batch: int,
    rate: float,
    offered: dict[str, float],
) -> float:
    """POST every death, two requests in flight, as fast as the hub takes them or (with a
    `rate` in events per second) one request every batch/rate seconds; the seconds it took.
    `offered` gets, per source event id, the time its request was sent (the registry's view:
    with backpressure the hub may hold a request before it records the events)."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        token = (
            await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=client)
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        today = dt.datetime.now(dt.UTC).date().isoformat()
        now = dt.datetime.now(dt.UTC).isoformat()
        chunks = [rrns[i : i + batch] for i in range(0, len(rrns), batch)]
        queue: asyncio.Queue[list[str]] = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)

        started = time.perf_counter()
        sent = 0

        async def sender() -> None:
            nonlocal sent
            while not queue.empty():
                chunk = queue.get_nowait()
                if rate:  # paced: this chunk is due when the ones before it are
                    due = started + sent / rate
                    sent += len(chunk)
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                events = [
                    {"subject": {"rrn": rrn}, "type": "person.died", "effective_date": today,
                     "source_event_id": f"BENCH-{rrn}", "reported_at": now}
                    for rrn in chunk
                ]  # fmt: skip
                sent_at = time.time()
                offered.update((e["source_event_id"], sent_at) for e in events)
                response = await http.post("/v1/events", json={"events": events}, headers=headers)
                assert response.status_code == 202, response.text

        await asyncio.gather(sender(), sender())
        return time.perf_counter() - started


async def wait_delivered(url: str, total: int, limit: float) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        deadline = time.monotonic() + limit
        while True:
            done = await connection.fetchval(
                "SELECT count(*) FROM alert_deliveries WHERE status = 'delivered'"
            )
            print(f"\r  delivered {done:,} / {total:,}", end="", flush=True)
            if done >= total:
                print(flush=True)
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"\nonly {done:,} of {total:,} delivered in {limit:.0f} s")
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


async def created_times(url: str) -> dict[str, tuple[float, str]]:
    """Per delivery: when its fan-out transaction started, and its event's source event id."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await connection.fetch(
            "SELECT d.id::text, d.created_at, e.source_event_id"
            " FROM alert_deliveries d JOIN events e ON e.id = d.event_id"
        )
        return {r["id"]: (r["created_at"].timestamp(), r["source_event_id"]) for r in rows}
    finally:
        await connection.close()


def wait_http(url: str, limit: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def run(args: argparse.Namespace) -> dict:
    import httpx

    from hub import migrations
    from hub.kit.clock import utcnow
    from hub.vault import KeySet

    admin = args.admin_url.replace("postgresql+asyncpg://", "postgresql://")
    url = f"postgresql+asyncpg://{admin.split('://', 1)[1].rsplit('/', 1)[0]}/{args.database}"

    async def admin_sql(sql: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
    asyncio.run(admin_sql(f'CREATE DATABASE "{args.database}"'))
    args.data.mkdir(parents=True, exist_ok=True)
    keys = args.data / "keys.json"
    KeySet.generate(utcnow()).save(keys)
    migrations.upgrade(url)
    ports = [free_port() for _ in range(args.subscribers)]
    t0 = time.perf_counter()
    state = asyncio.run(prepare(args, url, keys, ports))
    print(f"prepared {args.events:,} persons x {args.subscribers} enrolments and subscriptions "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    secrets_file = args.data / "secrets.json"
    secrets_file.write_text(json.dumps(state["secrets"]))
    secrets_file.chmod(0o600)
    control, hub_port = free_port(), free_port()
    base = f"http://127.0.0.1:{hub_port}"
    env = os.environ | {
        "HUB_DATABASE_URL": url,
        "HUB_KEYS_FILE": str(keys),
        "HUB_PUBLIC_URL": base,
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_RATE_LIMIT": "off",  # one client drives the whole load
        "HUB_ALERT_WORKER": "off",
        "HUB_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "HUB_ALERT_CONCURRENCY": str(args.concurrency),
        "HUB_ALERT_POLL_INTERVAL": "0.05",
        "HUB_ALERT_ADMISSION_LAG": str(args.admission_lag),
        "HUB_ALERT_ADMISSION_WAIT": str(args.admission_wait),
    }
    receiver = [sys.executable, __file__, "--receiver", json.dumps(ports)]
    receiver += ["--control", str(control), "--secrets", str(secrets_file)]
    children = [
        subprocess.Popen(receiver),  # noqa: S603 (this very script)
        subprocess.Popen([HUB, "serve", "--port", str(hub_port)], env=env),  # noqa: S603
    ]
    roles = {children[0].pid: "receiver", children[1].pid: "hub serve"}
    try:
        wait_http(f"http://127.0.0.1:{control}/count")
        wait_http(f"{base}/readyz")
        workers = [
            subprocess.Popen([HUB, "alerts", "work"], env=env)  # noqa: S603
            for _ in range(args.workers)
        ]
        children += workers
        roles |= {w.pid: f"worker {n}" for n, w in enumerate(workers, 1)}
        settle([w.pid for w in workers])  # started (imports done), idle: not in the figures
        if args.queue_first:  # the workers wait, stopped, until every event is queued
            for worker in workers:
                worker.send_signal(signal.SIGSTOP)
        total = args.events * args.subscribers
        before = cpu_seconds()
        offered: dict[str, float] = {}
        intake = asyncio.run(
            post_events(base, state["client"], state["rrns"], args.batch, args.rate, offered)
        )
        print(f"  {args.events:,} events accepted in {intake:.1f} s", flush=True)
        queued = cpu_seconds()
        resumed = time.time()
        if args.queue_first:
            for worker in workers:
                worker.send_signal(signal.SIGCONT)
        asyncio.run(wait_delivered(url, total, args.limit))
        after = cpu_seconds()
        acks: dict[str, float] = httpx.get(f"http://127.0.0.1:{control}/acks", timeout=60).json()
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGCONT)
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    created = asyncio.run(created_times(url))
    latencies = [acks[i] - created[i][0] for i in created if i in acks]
    # The registry's view: from sending the request that carried the event to the ack.
    from_offer = [acks[i] - offered[created[i][1]] for i in created if i in acks]
    start = resumed if args.queue_first else min(c[0] for c in created.values())
    span = max(acks.values()) - start
    windows = {"intake": (before, queued), "delivery": (queued, after)}
    if not args.queue_first:  # one window: intake and delivery overlap
        windows = {"whole run": (before, after)}
    cpu = {name: cpu_used(a, b, roles, args.database) for name, (a, b) in windows.items()}
    cpu_ms = {  # per delivery, over the whole run
        role: round(1000 * sum(c[role] for c in cpu.values()) / max(1, len(latencies)), 3)
        for role in next(iter(cpu.values()))
    }
    return {
        "events": args.events,
        "subscribers": args.subscribers,
        "workers": args.workers,
        "rate": args.rate or ("queued, then delivered" if args.queue_first else "burst"),
        "deliveries": len(created),
        "acknowledged": len(latencies),
        "intake_seconds": round(intake, 2),
        "events_per_second_accepted": round(args.events / intake, 1),
        "seconds_to_last_ack": round(span, 2),
        "deliveries_per_second": round(len(latencies) / span, 1),
        "cpu_seconds": cpu,
        "cpu_ms_per_delivery": cpu_ms,
        "load_average": os.getloadavg(),
        "admission_lag": args.admission_lag,
        "latency_ms": {
            name: round(percentile(latencies, share) * 1000, 1)
            for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        },
        "latency_from_offer_ms": {
            name: round(percentile(from_offer, share) * 1000, 1)
            for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        },
        "machine": f"{os.cpu_count()} vCPU {platform.machine()}",
        "python": platform.python_version(),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=11, help="At most 11 (ministries).")
    parser.add_argument("--workers", type=int, default=2, help="`hub alerts work` processes.")
    parser.add_argument("--batch", type=int, default=100, help="Events per POST /v1/events.")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="Events per second to send (0: all at once)."
    )
    parser.add_argument(
        "--queue-first",
        action="store_true",
        help="Hold the workers until every event is queued, then time delivery alone.",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="HUB_ALERT_CONCURRENCY.")
    parser.add_argument(
        "--admission-lag",
        type=float,
        default=0.0,
        help="HUB_ALERT_ADMISSION_LAG: the hub's backpressure on intake (0: off, the default).",
    )
    parser.add_argument(
        "--admission-wait", type=float, default=10.0, help="HUB_ALERT_ADMISSION_WAIT."
    )
    parser.add_argument("--limit", type=float, default=1800.0, help="Most seconds to wait.")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default="hub_bench_alerts")
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench-alerts")
    parser.add_argument("--receiver", help=argparse.SUPPRESS)
    parser.add_argument("--control", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secrets", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(receive(json.loads(args.receiver), args.secrets, args.control))
        return
    # A terminated benchmark still stops the servers and workers it started (`finally`).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
