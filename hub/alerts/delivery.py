"""One webhook attempt: check the target, build and sign the CloudEvent, POST it, classify.

The body is the CloudEvent in structured JSON mode (hub.alerts.envelope); the signature covers
exactly those bytes (Standard Webhooks, hub.alerts.signing). The request goes to the address
the SSRF check just approved (hub.alerts.targets), with no proxy from the environment and no
redirects. A 2xx is a delivery; `410 Gone` means the receiver is gone for good; anything else
(3xx, 4xx, 5xx, a timeout, a refused connection, a target that no longer passes the check) is
a failed attempt, retried later, no sooner than a Retry-After the receiver sent.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ssl
import time
from typing import Any

import httpx

from hub.alerts import envelope, signing, targets
from hub.alerts.queue import Attempt, Claimed
from hub.kit.clock import utcnow

USER_AGENT = "welfare-hub-alerts/1"


MAX_BODY = 65_536
"""Bytes of a receiver's answer read at most; a longer one costs only its connection."""
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


class Sender:
    """Sends attempts over pooled keep-alive connections: one pool per target host, so a
    connection (and its TLS session, made for one server name) only carries that host's
    requests. The transport is used directly: a client would add cookies, redirects and
    proxies from the environment, none of which a webhook may have."""

    def __init__(self, *, base_url: str, allow_private: bool, timeout: float, pool: int) -> None:
        self.base_url = base_url
        self.allow_private = allow_private
        self.timeout = httpx.Timeout(timeout).as_dict()
        self.pool = pool
        self.tls = ssl.create_default_context()  # one trust store for every pool
        self.pools: dict[tuple[str, str, int], httpx.AsyncHTTPTransport] = {}
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

    def _pool(self, target: targets.Target, scheme: str) -> httpx.AsyncHTTPTransport:
        key = (scheme, target.host, target.port)
        pool = self.pools.get(key)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(
                verify=self.tls,
                limits=httpx.Limits(max_connections=self.pool, max_keepalive_connections=self.pool),
            )
            self.pools[key] = pool
        return pool

    async def send(self, claimed: Claimed, secret: str) -> Attempt:
        try:
            target = await self._target(claimed.url)
        except targets.TargetRefused as exc:
            return Attempt(claimed, delivered=False, error=f"target refused: {exc}")
        message = envelope.structured(claimed.alert, self.base_url)
        url, host, extensions = target.request
        headers: dict[str, Any] = {
            **message.headers,
            **host,
            **signing.headers(secret, str(claimed.alert.id), message.body, utcnow()),
            "user-agent": USER_AGENT,
        }
        request = httpx.Request(
            "POST",
            url,
            content=message.body,
            headers=headers,
            extensions=extensions | {"timeout": self.timeout},
        )
        try:
            response = await self._pool(target, url.scheme).handle_async_request(request)
        except httpx.TimeoutException:
            return Attempt(claimed, delivered=False, error="timed out")
        except httpx.HTTPError as exc:
            return Attempt(claimed, delivered=False, error=f"not reached: {type(exc).__name__}")
        status = response.status_code
        try:  # read a little of the body (never kept), so the connection can be reused
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > MAX_BODY:
                    break
        except httpx.HTTPError:
            pass
        finally:
            await response.aclose()
        if 200 <= status < 300:
            return Attempt(claimed, delivered=True, status=status)
        if status == 410:
            return Attempt(claimed, delivered=False, status=status, error="410 Gone", gone=True)
        return Attempt(
            claimed,
            delivered=False,
            status=status,
            error=f"HTTP {status}",
            retry_after=retry_after(response.headers.get("retry-after"), utcnow()),
        )

    async def aclose(self) -> None:
        for pool in self.pools.values():
            await pool.aclose()
        self.pools.clear()
