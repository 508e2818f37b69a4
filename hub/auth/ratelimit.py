"""Rate limits per client (issue 9), with the IETF RateLimit header fields.

Each client (OAuth client id) has one quota, `HUB_RATE_LIMIT` (e.g. `600/minute`), counted in
fixed windows by the `limits` library. Every authenticated answer carries the policy and what
is left of it (draft-ietf-httpapi-ratelimit-headers):

    RateLimit-Policy: "default";q=600;w=60
    RateLimit: "default";r=42;t=17

and a request over the quota is refused with 429 problem+json and `Retry-After`, before the
endpoint runs (so a refused request discloses nothing and costs no database work beyond
authentication). Counters live in `HUB_RATE_LIMIT_STORAGE`: in process memory by default (one
process: the embedded hub), or in Redis (`async+redis://host:6379`, through coredis) so that
several `hub serve` processes share one quota per client (DESIGN.md "Scale").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from hub.kit.errors import HubError

POLICY = "default"


class TooManyRequests(HubError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    window: int
    """Seconds."""
    remaining: int
    reset: int
    """Seconds until the window ends."""

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{POLICY}";q={self.limit};w={self.window}',
            "RateLimit": f'"{POLICY}";r={self.remaining};t={self.reset}',
        }


class RateLimiter:
    """One quota per client id."""

    def __init__(self, policy: str, storage: str) -> None:
        self.item: RateLimitItem = parse(policy)
        self.strategy = FixedWindowRateLimiter(storage_from_string(storage))  # type: ignore[arg-type]

    async def hit(self, client_id: str) -> Quota:
        """Count one request; raises TooManyRequests (with the headers) when over quota."""
        allowed = await self.strategy.hit(self.item, "client", client_id)
        stats = await self.strategy.get_window_stats(self.item, "client", client_id)
        quota = Quota(
            limit=self.item.amount,
            window=self.item.get_expiry(),
            remaining=max(0, stats.remaining),
            reset=max(0, math.ceil(stats.reset_time - time.time())),
        )
        if not allowed:
            raise TooManyRequests(
                f"This client may make {quota.limit} requests per {quota.window} s; "
                f"try again in {quota.reset} s.",
                headers=quota.headers() | {"Retry-After": str(max(1, quota.reset))},
            )
        return quota
