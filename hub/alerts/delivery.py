"""One webhook attempt: check the target, build and sign the CloudEvent, POST it, classify.

The body is the CloudEvent in structured JSON mode (hub.alerts.envelope); the signature covers
exactly those bytes (Standard Webhooks, hub.alerts.signing). The request goes to the address
the SSRF check just approved (hub.alerts.targets), with no proxy from the environment and no
redirects, over hub.alerts.wire's keep-alive connections. A 2xx is a delivery; `410 Gone`
means the receiver is gone for good; anything else (3xx, 4xx, 5xx, a timeout, a refused
connection, a target that no longer passes the check) is a failed attempt, retried later, no
sooner than a Retry-After the receiver sent.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ssl
import time
from dataclasses import dataclass

from hub.alerts import envelope, signing, targets, wire
from hub.alerts.queue import Attempt, Claimed
from hub.kit.clock import utcnow

USER_AGENT = "welfare-hub-alerts/1"
CHECK_TTL = 30.0
"""Seconds a passed target check is reused; the request still goes to the checked address."""


def retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait per a Retry-After header (RFC 9110 §10.2.3: seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class _Route:
    """Where a checked target's requests go, and the start of each one's head."""

    pool: wire.Pool
    prefix: bytes
    """Request line, Host and User-Agent: the same for every request to this target."""


def _head_line(name: str, value: str) -> bytes:
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name} holds a line break")
    return f"{name}: {value}\r\n".encode("latin-1")


class Sender:
    """Sends attempts over keep-alive connections (hub.alerts.wire): one pool per checked
    address, so a connection (and its TLS session, made for one server name) only carries
    requests for that host, to the address that passed the SSRF check. No cookies, redirects
    or proxies from the environment, none of which a webhook may have."""

    def __init__(self, *, base_url: str, allow_private: bool, timeout: float, pool: int) -> None:
        self.base_url = base_url
        self.allow_private = allow_private
        self.timeout = timeout
        self.pool = pool
        self.tls = ssl.create_default_context()  # one trust store for every pool
        self.routes: dict[targets.Target, _Route] = {}
        self.checked: dict[str, tuple[targets.Target, float]] = {}

    async def _target(self, url: str) -> targets.Target:
        now = time.monotonic()
        cached = self.checked.get(url)
        if cached is not None and cached[1] > now:
            return cached[0]
        target = await targets.check(url, allow_private=self.allow_private)
        if len(self.checked) > 10_000:
            self.checked.clear()
        self.checked[url] = (target, now + CHECK_TTL)
        return target

    def _route(self, target: targets.Target) -> _Route:
        route = self.routes.get(target)
        if route is None:
            pinned, host, extensions = target.request
            path = pinned.raw_path.decode("ascii")
            if not path.startswith("/") or any(c <= " " or c == "\x7f" for c in path):
                raise ValueError("the URL's path cannot go in a request line")
            tls = self.tls if pinned.scheme == "https" else None
            route = _Route(
                wire.Pool(
                    pinned.host,
                    pinned.port or (443 if tls else 80),
                    tls=tls,
                    server_name=extensions.get("sni_hostname"),
                    keep=self.pool,
                ),
                f"POST {path} HTTP/1.1\r\n".encode("ascii")
                + _head_line("Host", host["Host"])
                + _head_line("User-Agent", USER_AGENT),
            )
            self.routes[target] = route
        return route

    async def send(self, claimed: Claimed, secret: str) -> Attempt:
        try:
            target = await self._target(claimed.url)
        except targets.TargetRefused as exc:
            return Attempt(claimed, delivered=False, error=f"target refused: {exc}")
        route = self._route(target)
        message = envelope.structured(claimed.alert, self.base_url)
        body = message.body
        signed = signing.headers(secret, str(claimed.alert.id), body, utcnow())
        request = b"".join(
            [
                route.prefix,
                *(_head_line(k, v) for k, v in message.headers.items()),
                *(_head_line(k, v) for k, v in signed.items()),
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            ]
        )
        try:
            answer = await route.pool.request(request, self.timeout)
        except TimeoutError:
            return Attempt(claimed, delivered=False, error="timed out")
        except (OSError, wire.ProtocolError) as exc:
            return Attempt(claimed, delivered=False, error=f"not reached: {type(exc).__name__}")
        status = answer.status
        if 200 <= status < 300:
            return Attempt(claimed, delivered=True, status=status)
        if status == 410:
            return Attempt(claimed, delivered=False, status=status, error="410 Gone", gone=True)
        return Attempt(
            claimed,
            delivered=False,
            status=status,
            error=f"HTTP {status}",
            retry_after=retry_after(answer.retry_after, utcnow()),
        )

    async def aclose(self) -> None:
        for route in self.routes.values():
            route.pool.close()
        self.routes.clear()
