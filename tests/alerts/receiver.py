"""A real webhook receiver on 127.0.0.1: uvicorn serving a tiny ASGI app in a thread.

Every request is verified with the standardwebhooks library against the endpoint's secret and
parsed with the cloudevents SDK, as a ministry's receiver would; a request that fails either is
answered 400 and counted as rejected. Each endpoint answers from a script of status codes (then
200), optionally slowly, and deduplicates on `webhook-id` the way Standard Webhooks asks
receivers to: `accepted` holds each id once, `attempts` every request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from standardwebhooks import Webhook, WebhookVerificationError

from tests.factories import free_port


@dataclass
class Attempt:
    webhook_id: str
    status: int
    at: float


@dataclass
class Endpoint:
    secret: str | None = None
    script: list[int] = field(default_factory=list)
    """Status codes to answer, in order; 200 once it is used up."""
    always: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    accepted: dict[str, BaseCloudEvent] = field(default_factory=dict)
    """Events acknowledged, once per webhook-id."""
    duplicates: int = 0
    rejected: int = 0
    started: int = 0
    """Requests that arrived (before any delay)."""

    def next_status(self) -> int:
        return self.script.pop(0) if self.script else self.always


class Receiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.endpoints: dict[str, Endpoint] = {}
        self.lock = threading.Lock()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="off",
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def endpoint(self, name: str, **settings: Any) -> tuple[str, Endpoint]:
        endpoint = Endpoint(**settings)
        self.endpoints[name] = endpoint
        return f"{self.base}/{name}", endpoint

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender died mid-request (a crash test's kill): nothing arrived
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        endpoint = self.endpoints.get(scope["path"].strip("/"))
        status, extra = 404, []
        if endpoint is not None:
            status, extra = await self._handle(endpoint, body, headers)
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b""})

    async def _handle(
        self, endpoint: Endpoint, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        with self.lock:
            endpoint.started += 1
        try:
            assert endpoint.secret is not None
            Webhook(endpoint.secret).verify(body, headers)
            event = from_http_event(HTTPMessage(headers=headers, body=body))
        except (WebhookVerificationError, AssertionError, ValueError):
            with self.lock:
                endpoint.rejected += 1
            return 400, []
        if endpoint.delay:
            await asyncio.sleep(endpoint.delay)
        webhook_id = headers["webhook-id"]
        with self.lock:
            status = endpoint.next_status()
            endpoint.attempts.append(Attempt(webhook_id, status, time.monotonic()))
            if 200 <= status < 300:
                if webhook_id in endpoint.accepted:
                    endpoint.duplicates += 1
                endpoint.accepted.setdefault(webhook_id, event)
        extra = []
        if endpoint.retry_after and status >= 400:
            extra.append((b"retry-after", endpoint.retry_after.encode()))
        return status, extra

    def __enter__(self) -> Receiver:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the receiver did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
