"""Backpressure on reported events: intake waits while webhook delivery is behind.

An event's alerts wait in the delivery queue behind every delivery already there, so in a
burst (a registry sending thousands of deaths at once) the time from an event's commit to its
receivers' acknowledgement is the backlog divided by the delivery rate: about a minute for
10,000 deaths to 11 subscribers on two cores (benchmarks/RESULTS.md, "Alerts delivery").
Accepting events faster than they can be delivered only moves the wait into the queue.

With HUB_ALERT_ADMISSION_LAG set, `POST /v1/events` first waits while the oldest due delivery
has been waiting longer than that many seconds: the reporter is slowed to the rate at which
the hub delivers, and what the hub has accepted is delivered within about that lag. The wait
is bounded (HUB_ALERT_ADMISSION_WAIT): when delivery stays behind (no worker running, a
receiver flood), the events are recorded anyway after it, so a registry's deaths are never
refused or lost because of alerts. The signal is the age of the longest-waiting due delivery
(one indexed read, as a claim makes), not the backlog's size: it needs no knowledge of how
fast the workers are, and a receiver that is down does not count, since its rows wait for
their retry time, not for a worker.

Off by default: while intake waits, the hub does not yet know of the deaths being reported,
and eligibility answers given meanwhile cannot reflect them. An operator who needs prompt
alerts more than prompt recording turns it on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import cast

from prometheus_client import Histogram
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.alerts.models import PENDING, AlertDelivery
from hub.kit.clock import utcnow

POLL_SECONDS = 0.1
"""How often a waiting request looks at the queue again (one indexed read each time)."""

_T = cast(Table, AlertDelivery.__table__).c
_OLDEST_DUE = (
    select(_T.next_attempt_at)
    .where(_T.status == PENDING, _T.next_attempt_at <= bindparam("now"))
    .order_by(_T.next_attempt_at)
    .limit(1)
)

WAITED = Histogram(
    "hub_events_admission_wait_seconds",
    "Seconds POST /v1/events waited for webhook delivery to catch up before recording.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)


async def delivery_lag(engine: AsyncEngine, now: dt.datetime) -> float:
    """Seconds the longest-waiting due delivery has waited for a worker (0 when none is due)."""
    async with engine.connect() as connection:
        oldest = (await connection.execute(_OLDEST_DUE, {"now": now})).scalar()
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


async def admit(
    engine: AsyncEngine,
    *,
    lag: float,
    longest: float,
    clock: Callable[[], dt.datetime] = utcnow,
) -> float:
    """Wait until delivery lags by at most `lag` seconds, or `longest` seconds have passed;
    the seconds waited. `lag` 0 admits at once. Holds no connection while it sleeps."""
    if lag <= 0:
        return 0.0
    started = time.monotonic()
    while True:
        behind = await delivery_lag(engine, clock())
        waited = time.monotonic() - started
        if behind <= lag or waited >= longest:
            if waited > 0:
                WAITED.observe(waited)
            return waited
        await asyncio.sleep(min(POLL_SECONDS, longest - waited))
