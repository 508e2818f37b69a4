"""The alerts benchmark's helpers (benchmarks/alerts.py): the webhook receiver, which runs as a
process of its own, and the CPU each process spends, read from /proc, as benchmarks/eligibility.py
reads it, so that a run on a shared machine still says what each part cost per delivery.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """pid → (command line, user + system CPU seconds so far) of every process (/proc)."""
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found[int(entry.name)] = (command, (int(fields[11]) + int(fields[12])) / tick)
        except (OSError, ValueError, IndexError):
            continue
    return found


def cpu_used(before: dict, after: dict, roles: dict[int, str], database: str) -> dict[str, float]:
    """Core-seconds spent between two snapshots per role: each child process by its pid, this
    load generator, PostgreSQL (the benchmark database's backends and the server's own
    processes) and everything else on the machine. A process that exits meanwhile is lost."""
    used = dict.fromkeys([*roles.values(), "loadgen", "postgres", "other"], 0.0)
    for pid, (command, seconds) in after.items():
        spent = seconds - before.get(pid, (command, 0.0))[1]
        if pid in roles:
            used[roles[pid]] += spent
        elif pid == os.getpid():
            used["loadgen"] += spent
        elif command.startswith("postgres") and (f" {database} " in command or "(" not in command):
            used["postgres"] += spent
        else:
            used["other"] += spent
    return {k: round(v, 2) for k, v in used.items()}


def settle(pids: list[int], limit: float = 30.0) -> None:
    """Wait until the processes have started: under 10% of a core each over a second (an idle
    worker still polls)."""
    deadline, last = time.monotonic() + limit, None
    while time.monotonic() < deadline:
        now = {p: v[1] for p, v in cpu_seconds().items() if p in pids}
        if last is not None and all(now.get(p, 0) - last.get(p, 0) < 0.1 for p in pids):
            return
        last = now
        time.sleep(1.0)


async def receive(ports: list[int], secrets_file: Path, control: int) -> None:
    """One uvicorn server per subscriber port; a control port answers the acknowledgements."""
    import uvicorn
    from cloudevents.core.bindings.http import HTTPMessage, from_http_event
    from standardwebhooks import Webhook

    pairs = json.loads(secrets_file.read_text())  # noqa: ASYNC240 (once, before serving)
    hooks = {port: Webhook(secret) for port, secret in pairs}
    acks: dict[str, float] = {}

    def receiver(port: int) -> Any:
        hook = hooks[port]

        async def app(scope: dict, receive: Any, send: Any) -> None:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            try:
                hook.verify(body, headers)
                from_http_event(HTTPMessage(headers=headers, body=body))
                status = 200
            except Exception:
                status = 400
            if status == 200:
                acks.setdefault(headers["webhook-id"], time.time())
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return app

    async def control_app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.dumps(acks if scope["path"] == "/acks" else {"count": len(acks)}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    servers = [
        uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                interface="asgi3", access_log=False,
            )
        )
        for port, app in [(p, receiver(p)) for p in ports] + [(control, control_app)]
    ]  # fmt: skip
    await asyncio.gather(*(server.serve() for server in servers))
