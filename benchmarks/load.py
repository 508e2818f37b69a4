"""Mixed-load benchmark (issue 9): eligibility answers, duplicate checks, ingestion, alert
delivery and auditor queries at the same time, against the real hub (`hub serve --workers 2`
on PostgreSQL, its in-process alert workers on), for a fixed time. It reports throughput,
latency percentiles and errors per kind of request, and the alerts' delivery latency; the
target is 0 errors.

    .venv/bin/python benchmarks/load.py                         # 300 s, 20,000 persons
    .venv/bin/python benchmarks/load.py --seconds 60 --persons 5000 \\
        --data var/bench-load-5k --database hub_bench_load_5k

The first run builds the data as benchmarks/eligibility.py does (a synthetic population, every
source file ingested into --database, the RRNs to ask about) and reuses it later. Each run then
registers fresh clients: MCST (eligibility), MOHW (duplicate checks, file uploads), the resident
registry MOIS-RRS (address changes over POST /v1/events), MOEL (a webhook subscription to a
receiver in this process, which verifies every signature with standardwebhooks) and BAI (the
auditor: disclosure lists, the signed checkpoint, inclusion proofs).

The load generator is this process (httpx, keep-alive, one client per loop); it shares the two
cores with the hub and PostgreSQL, so the figures are those of a machine with both under load.
A request counts as an error if it gets a 5xx, a 429, or a status its kind never expects (each
kind lists what it expects: eligibility 200, an upload 201, …), or if it fails in transport.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import eligibility as base  # noqa: E402 (after the path set-up)

DATABASE = "hub_bench_load"
RULE_PROGRAMMES = ("MOHW-SELF-SUPPORT-WORK", "MOHW-BLS-EDUCATION", "MOHW-EMERGENCY-SUPPORT")
UPLOAD_ROWS = 500
EXPECTED = {
    "eligibility": {200},
    "duplicate check": {200},
    "upload": {201},
    "events": {202},
    "audit list": {200},
    "audit proof": {200},
}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    sent_at: dict[str, float] = field(default_factory=dict)
    """Event (by its region code) → when the registry sent it (for delivery latency)."""
    delivered: dict[str, float] = field(default_factory=dict)
    rejected: int = 0

    def record(self, kind: str, started: float, status: int | None, why: str = "") -> None:
        if status is not None and status in EXPECTED[kind]:
            self.latencies[kind].append(time.perf_counter() - started)
        else:
            self.errors[kind].append(f"{status}: {why[:200]}")


# -- the webhook receiver ----------------------------------------------------------------------


class Receiver:
    """A webhook endpoint on 127.0.0.1 that verifies each request (Standard Webhooks) and notes
    when each event arrived."""

    def __init__(self, tally: Tally) -> None:
        import uvicorn

        self.tally, self.secret = tally, ""
        self.port = base._free_port()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="error", interface="asgi3"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from standardwebhooks import Webhook, WebhookVerificationError

        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status = 204
        try:
            event = Webhook(self.secret).verify(body, headers)
            # Each move names a region code of its own (see `move`): it identifies the event.
            region = event["data"]["new_region_code"]
            self.tally.delivered.setdefault(region, time.perf_counter())
        except (WebhookVerificationError, KeyError, ValueError):
            self.tally.rejected += 1
            status = 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# -- set-up ------------------------------------------------------------------------------------


async def register(url: str, organisation: str, scopes: str) -> tuple[str, str]:
    from hub.auth import service
    from hub.database import Database

    db = Database(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with db.transaction() as session:
            done = await service.register_client(
                session, organisation=organisation, name=f"load {organisation}", scopes=scopes
            )
            return done.client.client_id, str(done.secret)
    finally:
        await db.dispose()


async def token(client: Any, credentials: tuple[str, str]) -> dict[str, str]:
    import httpx

    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=httpx.BasicAuth(*credentials),
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def mohw_file(rrns: list[str], serial: int) -> bytes:
    """A 행복e음 export: new 자활근로 records for known persons (some duplicate forest work)."""
    lines = [
        "주민등록번호,성명,시군구코드,가구번호,급여ID,사업코드,급여개시일,급여종료일,상태,지급액"
    ]
    for n, rrn in enumerate(rrns):
        lines.append(f"{rrn},김부하,11350,,LOAD-{serial}-{n},1301,20250101,20251231,01,500000")
    return ("\r\n".join(lines) + "\r\n").encode("cp949")


# -- the loops ---------------------------------------------------------------------------------


async def loop(
    kind: str,
    hub: str,
    credentials: tuple[str, str],
    until: float,
    tally: Tally,
    act: Any,
    pause: float = 0.0,
) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=hub, timeout=60) as client:
        headers = await token(client, credentials)
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                response = await act(client, headers)
                tally.record(kind, started, response.status_code, response.text)
            except httpx.HTTPError as exc:
                tally.record(kind, started, None, type(exc).__name__)
            if pause:
                await asyncio.sleep(pause)


async def run(args: argparse.Namespace, state: dict, hub: str, tally: Tally) -> float:
    url = base.database_url(args.admin_url, args.database)
    questions = json.loads((args.data / "questions.json").read_text())
    known = [q["rrn"] for q in questions if q["known"]]
    rng = random.Random(args.seed)
    clients = {
        "MCST": await register(url, "MCST", "eligibility:verify"),
        "MOHW": await register(url, "MOHW", "duplicates:check records:write"),
        "MOIS-RRS": await register(url, "MOIS-RRS", "events:write"),
        "MOEL": await register(url, "MOEL", "alerts:subscribe"),
        "BAI": await register(url, "BAI", "audit:read"),
    }
    receiver = Receiver(tally)
    import httpx

    async with httpx.AsyncClient(base_url=hub) as client:
        created = await client.post(
            "/v1/subscriptions",
            headers=await token(client, clients["MOEL"]),
            json={
                "event_types": ["person.address_changed"],
                "delivery": {"mode": "webhook", "url": f"http://127.0.0.1:{receiver.port}/moel"},
            },
        )
        created.raise_for_status()
        receiver.secret = created.json()["secret"]
    # MOEL serves the persons it is told about through its own enrolments; moves are reported
    # for everyone known, so only MOEL's share of them is delivered.
    uploads = iter(range(1_000_000))
    moves = iter(range(100_000))

    async def verify(client: Any, headers: dict[str, str]) -> Any:
        return await client.post(
            "/v1/eligibility/verify",
            headers=headers,
            json={
                "subject": {"rrn": rng.choice(questions)["rrn"]},
                "programme": "MCST-TRAVEL-VOUCHER",
                "attributes": [{"attribute": "basic_livelihood.recipient"}],
            },
        )

    async def check(client: Any, headers: dict[str, str]) -> Any:
        start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
        return await client.post(
            "/v1/duplicates/check",
            headers=headers,
            json={
                "subject": {"rrn": rng.choice(questions)["rrn"]},
                "programme": rng.choice(RULE_PROGRAMMES),
                "period_start": start.isoformat(),
                "period_end": (start + dt.timedelta(days=rng.randrange(30, 365))).isoformat(),
            },
        )

    async def upload(client: Any, headers: dict[str, str]) -> Any:
        content = mohw_file(rng.sample(known, UPLOAD_ROWS), next(uploads))
        return await client.post(
            "/v1/ingest/mohw", headers=headers, files={"file": ("mohw.csv", content, "text/csv")}
        )

    async def move(client: Any, headers: dict[str, str]) -> Any:
        events = []
        now = time.perf_counter()
        for who in rng.sample(known, 10):
            # A region code of its own per event (10 digits: 노원구 + a serial), which the
            # subscriber receives: it tells the receiver which event arrived.
            region = f"11350{next(moves):05d}"
            tally.sent_at[region] = now
            events.append(
                {
                    "subject": {"rrn": who},
                    "type": "person.address_changed",
                    "effective_date": dt.datetime.now(dt.UTC).date().isoformat(),
                    "source_event_id": f"LOAD-{secrets.token_hex(8)}",
                    "reported_at": dt.datetime.now(dt.UTC).isoformat(),
                    "details": {"new_region_code": region},
                }
            )
        return await client.post("/v1/events", headers=headers, json={"events": events})

    async def audit_list(client: Any, headers: dict[str, str]) -> Any:
        return await client.get("/v1/audit/disclosures?limit=50", headers=headers)

    async def audit_proof(client: Any, headers: dict[str, str]) -> Any:
        checkpoint = await client.get("/v1/audit/checkpoint", headers=headers)
        if checkpoint.status_code != 200:
            return checkpoint
        size = int(checkpoint.text.splitlines()[1])
        index = rng.randrange(max(1, size))
        return await client.get(
            f"/v1/audit/proof/inclusion?index={index}&size={size}", headers=headers
        )

    # Warm-up: one answer logged and its checkpoint signed, so the auditor's first proof has
    # a signed tree to prove against (before that, 404 "no signed checkpoint yet" is right).
    async with httpx.AsyncClient(base_url=hub) as client:
        await verify(client, await token(client, clients["MCST"]))
        auditor = await token(client, clients["BAI"])
        deadline = time.perf_counter() + 60
        while (await client.get("/v1/audit/checkpoint", headers=auditor)).status_code != 200:
            if time.perf_counter() > deadline:
                raise SystemExit("no checkpoint was signed within 60 s")
            await asyncio.sleep(0.5)
    started = time.perf_counter()
    until = started + args.seconds
    tasks = [
        *(
            loop("eligibility", hub, clients["MCST"], until, tally, verify)
            for _ in range(args.eligibility)
        ),
        *(
            loop("duplicate check", hub, clients["MOHW"], until, tally, check)
            for _ in range(args.checks)
        ),
        loop("upload", hub, clients["MOHW"], until, tally, upload, pause=args.upload_pause),
        loop("events", hub, clients["MOIS-RRS"], until, tally, move, pause=1.0),
        loop("audit list", hub, clients["BAI"], until, tally, audit_list, pause=0.5),
        loop("audit proof", hub, clients["BAI"], until, tally, audit_proof, pause=0.5),
    ]
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(args.drain)  # deliveries still in flight at the end
    receiver.stop()
    return elapsed


# -- report ------------------------------------------------------------------------------------


def report(tally: Tally, elapsed: float, args: argparse.Namespace) -> dict:
    rows = []
    for kind in EXPECTED:
        ok = sorted(tally.latencies.get(kind, []))
        errors = len(tally.errors.get(kind, []))
        rows.append(
            {
                "kind": kind,
                "requests": len(ok) + errors,
                "errors": errors,
                "per_s": round(len(ok) / elapsed, 1),
                "p50_ms": round(base._percentile(ok, 50) * 1000, 1) if ok else None,
                "p95_ms": round(base._percentile(ok, 95) * 1000, 1) if ok else None,
                "p99_ms": round(base._percentile(ok, 99) * 1000, 1) if ok else None,
            }
        )
    delays = sorted(
        tally.delivered[i] - tally.sent_at[i] for i in tally.delivered if i in tally.sent_at
    )
    total_requests = sum(r["requests"] for r in rows)
    total_errors = sum(r["errors"] for r in rows)
    print(f"\n{elapsed:.0f} s of mixed load, {args.workers} hub worker processes\n")
    print("| request | requests | errors | per s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['kind']} | {r['requests']:,} | {r['errors']} | {r['per_s']} | "
            f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} |"
        )
    print(
        f"\nall: {total_requests:,} requests, {total_errors} errors "
        f"({100 * total_errors / max(1, total_requests):.2f}%)"
    )
    if delays:
        print(
            f"alerts delivered to MOEL: {len(delays):,}; latency from POST /v1/events to the "
            f"receiver: p50 {base._percentile(delays, 50) * 1000:.0f} ms, "
            f"p95 {base._percentile(delays, 95) * 1000:.0f} ms; signatures rejected: "
            f"{tally.rejected}"
        )
    for kind, errors in tally.errors.items():
        print(f"first errors of {kind}: {errors[:3]}")
    return {
        "rows": rows,
        "errors": total_errors,
        "alerts": len(delays),
        "rejected_signatures": tally.rejected,
    }


def start_hub(args: argparse.Namespace, state: dict) -> base.Server:
    """`hub serve` on the prepared database with its in-process sequencer and alert worker,
    allowed to deliver to this machine's receiver; no rate limit (one client per kind drives
    the whole load)."""
    port = base._free_port()
    env = os.environ | {
        "HUB_DATABASE_URL": base.database_url(args.admin_url, args.database),
        "HUB_KEYS_FILE": state["keys"],
        "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_RATE_LIMIT": "off",
        "HUB_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "HUB_VAR_DIR": str(args.data),
    }
    hub = Path(sys.executable).with_name("hub")
    command = [str(hub), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return base.Server(
        "hub", [*command, "--workers", str(args.workers)], env, args.data / "hub.log"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="hub serve worker processes")
    parser.add_argument("--eligibility", type=int, default=8, help="eligibility loops")
    parser.add_argument("--checks", type=int, default=4, help="duplicate-check loops")
    parser.add_argument("--upload-pause", type=float, default=10.0, help="seconds between uploads")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to await alerts")
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench-load")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--admin-url", default=base.DEFAULT_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--sources", default="all")
    parser.add_argument("--absent", type=float, default=0.03)
    parser.add_argument("--fresh", action="store_true", help="rebuild data and database")
    args = parser.parse_args()
    state = base.prepare(args)
    server = start_hub(args, state)
    try:
        server.wait_ready("/readyz", timeout=240.0)
        tally = Tally()
        elapsed = asyncio.run(run(args, state, server.url, tally))
        result = report(tally, elapsed, args)
    finally:
        server.stop()
    result |= {"machine": base.machine(), "seconds": args.seconds, "persons": args.persons}
    (args.data / "load-result.json").write_text(json.dumps(result, indent=1))
    with contextlib.suppress(Exception):
        os.sync()
    raise SystemExit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
