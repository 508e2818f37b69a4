"""Duplicate-check benchmark: POST /v1/duplicates/check over HTTP against the real hub (`hub
serve`, uvicorn, PostgreSQL) with 100,000 persons' worth of enrolments.

    .venv/bin/python benchmarks/duplicate_check.py                      # 100,000 persons
    .venv/bin/python benchmarks/duplicate_check.py --persons 20000 --checks 500 --fresh

The first run builds the database (--database, default `hub_bench_duplicates`: migrated,
catalogue synced), a key set, and the population, written with COPY (hub.database.bulk_insert):
persons with sealed RRNs and blind indexes in households of one to four, and about 2.5
enrolments a person over the catalogue's programmes, those that duplicate rules name weighted
up so that conflicts occur (about one check in twenty finds one), 5% of them suspended. One
MOHW client gets the scope duplicates:check. Later runs reuse it all (marker prepared.json, the
schema migrated to head); --fresh rebuilds it.

Then `hub serve --workers N` starts, and the load generator in this process (httpx, HTTP
keep-alive) checks random persons (3% unknown to the hub) for random MOHW programmes that rules
name (person and household rules), for random periods: first one request at a time, then
--concurrency in flight. Every latency is recorded; any answer other than 200 is an error.
The load generator shares the machine with the server and PostgreSQL.

Target (issue 6): single check p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATABASE = "hub_bench_duplicates"
ORGANISATION = "MOHW"
SCOPE = "duplicates:check"
CHECKED = (
    "MOHW-BLS-EDUCATION",
    "MOHW-SELF-SUPPORT-WORK",
    "MOHW-EMERGENCY-SUPPORT",
    "MOHW-BLS-HOUSING",
    "MOHW-ELDERLY-CARE-BASIC",
)
TARGET_P99_MS = 20.0
CHECK = "/v1/duplicates/check"
BASELINE = "/v1/programmes/MOHW-BLS-EDUCATION"
DEFAULT_ADMIN_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _url(admin_url: str, name: str, driver: str = "postgresql") -> str:
    base = admin_url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", f"{driver}://", 1)


async def _admin(admin_url: str, sql: str) -> Any:
    import asyncpg

    connection = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await connection.fetch(sql)
    finally:
        await connection.close()


# -- the population ---------------------------------------------------------------------------


def _population(persons: int, seed: int, keyset: Any) -> tuple[list[dict], list[dict], list[str]]:
    """Persons (sealed RRNs, households) and their enrolments, as rows for COPY."""
    from hub.records.repository import seal
    from hub.vault import blind_index
    from schemas.catalogue import load_catalogue
    from schemas.identifiers import parse_rrn

    rng = random.Random(seed)
    catalogue = load_catalogue()
    named = sorted({s.programme for r in catalogue.duplicate_rules for s in (r.a, r.b)} - {None})
    others = sorted(set(catalogue.programmes) - set(named))
    now = dt.datetime.now(dt.UTC)
    people, enrolments, rrns = [], [], []
    household, left = "", 0
    for serial, number in enumerate(range(persons), 1):
        if left == 0:
            household, left = f"HB-{number:07d}", rng.choice((1, 1, 2, 2, 3, 4))
        left -= 1
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 25_000))
        rrn = parse_rrn(f"{birth:%y%m%d}-{1 if birth.year < 2000 else 3}{serial:06d}")
        person_id = uuid.uuid4()
        sealed, index = seal(keyset, person_id, rrn), blind_index(keyset, rrn)
        rrns.append(rrn.canonical())
        people.append(
            {
                "id": person_id,
                "rrn_kid": sealed.kid,
                "rrn_sealed": sealed.blob,
                "rrn_index_kid": index.kid,
                "rrn_index": index.digest,
                "name": "벤치",
                "birth_date": rrn.birth_date,
                "sex": rrn.sex,
                "region_code": "11350",
                "household_id": household,
                "civil_status": "alive",
                "created_at": now,
                "updated_at": now,
            }
        )
        for _ in range(rng.choice((0, 1, 2, 3, 3, 4, 5, 2))):
            code = rng.choice(named) if rng.random() < 0.6 else rng.choice(others)
            programme = catalogue.programmes[code]
            start = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(0, 1500))
            end = start + dt.timedelta(days=rng.randrange(1, 720)) if rng.random() < 0.6 else None
            enrolments.append(
                {
                    "id": uuid.uuid4(),
                    "person_id": person_id,
                    "programme_code": code,
                    "source_org": programme.ministry or programme.operator or "WC-NOWON",
                    "source_record_id": f"B-{len(enrolments)}",
                    "period_start": start,
                    "period_end": end,
                    "status": "suspended" if rng.random() < 0.05 else "active",
                    "amount_won": rng.randrange(50_000, 900_000),
                    "fingerprint": "0" * 64,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return people, enrolments, rrns


async def _build(url: str, keys: Path, persons: int, seed: int) -> dict:
    import hub.models  # noqa: F401 (every table registered)
    from hub.auth import service as auth_service
    from hub.catalogue import service as catalogue_service
    from hub.database import Database, bulk_insert
    from hub.records.models import Enrolment, Person
    from hub.vault import KeySet
    from schemas.catalogue import load_catalogue

    started = time.perf_counter()
    people, enrolments, rrns = _population(persons, seed, KeySet.load(keys))
    print(f"generated {len(people):,} persons, {len(enrolments):,} enrolments", flush=True)
    db = Database(url)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        async with db.transaction() as session:
            for start in range(0, len(people), 20_000):
                await bulk_insert(session, Person.__table__, people[start : start + 20_000])
            for start in range(0, len(enrolments), 50_000):
                await bulk_insert(session, Enrolment.__table__, enrolments[start : start + 50_000])
            registered = await auth_service.register_client(
                session, organisation=ORGANISATION, name="duplicate benchmark", scopes=SCOPE
            )
        async with db.transaction() as session:
            from sqlalchemy import text

            await session.execute(text("ANALYZE"))
    finally:
        await db.dispose()
    print(f"built the database in {time.perf_counter() - started:.1f} s", flush=True)
    return {
        "persons": persons,
        "seed": seed,
        "enrolments": len(enrolments),
        "client_id": registered.client.client_id,
        "secret": registered.secret,
        "rrns": rrns,
    }


def prepare(args: argparse.Namespace) -> dict:
    from hub import migrations
    from hub.vault import KeySet

    args.data.mkdir(parents=True, exist_ok=True)
    marker = args.data / "prepared.json"
    url = _url(args.admin_url, args.database, "postgresql+asyncpg")
    if marker.exists() and not args.fresh:
        state = json.loads(marker.read_text())
        wanted = (args.persons, args.seed, args.database)
        if (state["persons"], state["seed"], state.get("database")) == wanted:
            print(f"reusing {args.database} ({state['persons']:,} persons)", flush=True)
            migrations.upgrade(url)  # the code may have moved on since
            return state
    keys = args.data / "keys.json"
    KeySet.generate(dt.datetime.now(dt.UTC)).save(keys)
    name = args.database
    asyncio.run(_admin(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(args.admin_url, f'CREATE DATABASE "{name}"'))
    migrations.upgrade(url)
    state = asyncio.run(_build(url, keys, args.persons, args.seed))
    state |= {"keys": str(keys), "database": name}
    marker.write_text(json.dumps(state))
    return state


# -- the server and the load ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`hub serve` in a session of its own, its log in a file; stopped on exit."""

    def __init__(self, args: argparse.Namespace, state: dict) -> None:
        import httpx

        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = os.environ | {
            "HUB_DATABASE_URL": _url(args.admin_url, args.database),
            "HUB_KEYS_FILE": state["keys"],
            "HUB_PUBLIC_URL": self.url,
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_RATE_LIMIT": "off",  # one client drives the whole load
            "HUB_VAR_DIR": str(args.data),
        }
        hub = str(Path(sys.executable).with_name("hub"))
        command = [hub, "serve", "--port", str(port), "--workers", str(args.workers)]
        self.log = args.data / "hub.log"
        with self.log.open("wb") as handle:
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                command,
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"hub exited:\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"hub was not ready:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # this server's own process group
        self.process.wait(timeout=10)


def _bodies(rrns: list[str], count: int, seed: int) -> list[dict]:
    from tests.factories import new_rrn

    rng = random.Random(seed + 1)
    bodies = []
    for _ in range(count):
        start = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 1200))
        end = start + dt.timedelta(days=rng.randrange(30, 365)) if rng.random() < 0.5 else None
        rrn = new_rrn() if rng.random() < 0.03 else rng.choice(rrns)
        bodies.append(
            {
                "subject": {"rrn": rrn},
                "programme": rng.choice(CHECKED),
                "period_start": start.isoformat(),
                "period_end": end.isoformat() if end else None,
            }
        )
    return bodies


async def _run(
    url: str, state: dict, bodies: list[dict], concurrency: int, warm: int, what: str
) -> dict:
    """One phase: `what` is "check", or "baseline" (an authenticated catalogue read that
    discloses nothing: the cost of the stack around the check, on the same machine)."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:
        token = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(state["client_id"], state["secret"]),
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        conflicted = 0
        queue = deque(enumerate(bodies))

        async def worker() -> None:
            nonlocal conflicted
            while queue:
                number, body = queue.popleft()
                t0 = time.perf_counter()
                if what == "check":
                    response = await client.post(CHECK, json=body, headers=headers)
                else:
                    response = await client.get(BASELINE, headers=headers)
                elapsed = (time.perf_counter() - t0) * 1000
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if number >= warm:
                    latencies.append(elapsed)
                    conflicted += what == "check" and bool(response.json().get("conflicts"))

        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, round(p / 100 * len(latencies)) - 1)]

    return {
        "what": what,
        "load": (load_before, os.getloadavg()[0]),
        "concurrency": concurrency,
        "checks": len(latencies),
        "errors": sum(n for s, n in statuses.items() if s != 200),
        "statuses": statuses,
        "with_conflicts": conflicted,
        "rate": len(bodies) / seconds,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": latencies[-1],
    }


def machine(admin_url: str) -> dict:
    from importlib.metadata import version

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    memory = next(
        int(line.split()[1]) / 1024 / 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(memory, 1),
        "python": platform.python_version(),
        "postgresql": asyncio.run(_admin(admin_url, "SHOW server_version"))[0][0],
        "uvicorn": version("uvicorn"),
        "sqlalchemy": version("sqlalchemy"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=2_000, help="Measured, per phase.")
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default=DATABASE, help="Dropped and rebuilt by --fresh.")
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench-duplicates")
    parser.add_argument("--fresh", action="store_true", help="Rebuild the database.")
    args = parser.parse_args()

    state = prepare(args)
    print(json.dumps({"machine": machine(args.admin_url)}), flush=True)
    server = Server(args, state)
    results = []
    try:
        phases = [("baseline", 1, args.seed), ("check", 1, args.seed)]
        phases.append(("check", args.concurrency, args.seed + 7))
        for what, concurrency, seed in phases:
            total = args.checks + args.warm_up * concurrency
            bodies = _bodies(state["rrns"], total, seed)
            # the first warm-up requests of each phase are not measured
            warm = args.warm_up * concurrency
            results.append(asyncio.run(_run(server.url, state, bodies, concurrency, warm, what)))
    finally:
        server.stop()
    print(
        f"\n{state['persons']:,} persons, {state['enrolments']:,} enrolments; "
        f"hub serve --workers {args.workers}\n"
    )
    print(
        "| request | clients | requests | errors | with conflicts | per s "
        "| p50 | p95 | p99 | max (ms) | load avg before/after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r['what']} | {r['concurrency']} | {r['checks']:,} | {r['errors']} "
            f"| {r['with_conflicts']:,} "
            f"| {r['rate']:,.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
            f"| {r['max']:.1f} | {r['load'][0]:.2f} / {r['load'][1]:.2f} |"
        )
    single = results[1]["p99"]
    verdict = "met" if single <= TARGET_P99_MS else "missed"
    print(f"\nsingle check p99 {single:.1f} ms against <= {TARGET_P99_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
