"""The webhook delivery queue: claiming due rows under a lease, recording attempts, retrying on
a schedule, dead letters and their replay.

Claims are leases, not locks held across the network call. A worker marks the rows it takes
with its name, moves their due time to the end of the lease (`claimed_until`) and commits at
once. A row is due when it is pending and its due time has come, a condition one index serves
in order (the claim never sorts the backlog, however large). A worker killed mid-delivery
therefore loses nothing: its leases run out, the rows fall due again, and another worker (or
the same one, restarted) sends them. That is at-least-once delivery; receivers deduplicate on
`webhook-id` (Standard Webhooks). On PostgreSQL the claim reads with FOR UPDATE SKIP LOCKED,
so concurrent workers take disjoint rows without waiting on each other; on both backends the
claiming UPDATE touches only rows that are still due (locked by the SKIP LOCKED read on
PostgreSQL, checked again on SQLite), so a row is never leased twice at once.

A subscription that stops (410 Gone, or deleted by its organisation) takes its pending rows
with it: they are dead-lettered at once, and a row claimed just before that is not sent.

Retries follow the configured schedule (DESIGN.md: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h),
later if the receiver asked for it with Retry-After; after the last the row is dead-lettered.
`410 Gone` dead-letters the row and disables the subscription: the receiver said it is gone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts.envelope import Alert
from hub.alerts.models import (
    ACTIVE,
    DEAD,
    DELIVERED,
    DISABLED,
    PENDING,
    AlertDelivery,
    AlertSubscription,
)
from hub.database import dialect_of

MAX_RETRY_AFTER = 86_400.0
"""The longest wait a receiver's Retry-After can impose (seconds)."""


@dataclass(frozen=True)
class Claimed:
    """A leased delivery and what sending it needs."""

    alert: Alert
    subscription_id: str
    attempts: int
    url: str
    secret_kid: str
    secret_sealed: bytes
    created_at: dt.datetime
    active: bool
    """False when the subscription stopped after the row was queued: not to be sent."""


@dataclass(frozen=True)
class Attempt:
    """The result of one attempt."""

    claimed: Claimed
    delivered: bool
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    gone: bool = False
    """The receiver answered 410 Gone: the subscription is disabled."""
    final: bool = False
    """Dead-letter now, whatever attempts are left."""


_TABLE = cast(Table, AlertDelivery.__table__)
_T = _TABLE.c
_S = cast(Table, AlertSubscription.__table__).c


def _due(now: Any) -> Any:
    return (_T.status == PENDING) & (_T.next_attempt_at <= now)


def _ids() -> Any:
    return bindparam("ids", expanding=True)


# The statements on every delivery's path are built once, with bound parameters: building and
# compiling them for each batch cost more CPU than the rows they move.
_DUE = select(_T.id).where(_due(bindparam("now"))).order_by(_T.next_attempt_at)
_DUE = _DUE.limit(bindparam("limit"))
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True)
_LEASE = update(_TABLE).values(
    next_attempt_at=bindparam("until"), claimed_until=bindparam("until"), claimed_by=bindparam("by")
)
_LEASE_COLUMNS = [_T.id, _T.seq, _T.type, _T.occurred_at, _T.source_org, _T.data]
_LEASE_COLUMNS += [_T.subscription_id, _T.attempts, _T.created_at]
# PostgreSQL: the rows are locked, and were due when locked. SQLite: another writer may have
# committed since the SELECT, so check again. (Not on PostgreSQL: with stale statistics it then
# read the whole due range of the status index to intersect it with the ids.)
_LEASE_LOCKED = _LEASE.where(_T.id.in_(_ids())).returning(*_LEASE_COLUMNS)
_LEASE_DUE = _LEASE.where(_T.id.in_(_ids()), _due(bindparam("now"))).returning(*_LEASE_COLUMNS)
_SUBSCRIBERS = select(_S.id, _S.url, _S.secret_kid, _S.secret_sealed, _S.status)
_SUBSCRIBERS = _SUBSCRIBERS.where(_S.id.in_(_ids()))


async def claim(
    session: AsyncSession, worker: str, now: dt.datetime, *, lease: float, limit: int
) -> list[Claimed]:
    """Lease up to `limit` due deliveries to `worker`, longest due first: their ids (one index
    range read in order, FOR UPDATE SKIP LOCKED on PostgreSQL), one UPDATE … RETURNING of those
    rows by primary key, and one small SELECT of their subscriptions. Core statements, not ORM
    entities: a claim is on every delivery's path. (The ids are not picked by a subquery of the
    UPDATE: with statistics stale during a load, PostgreSQL then joined the whole backlog.)"""
    postgres = dialect_of(session) == "postgresql"
    ids = list(
        await session.scalars(_DUE_LOCKED if postgres else _DUE, {"now": now, "limit": limit})
    )
    if not ids:
        return []
    until = now + dt.timedelta(seconds=lease)
    taken = (
        await session.execute(
            _LEASE_LOCKED if postgres else _LEASE_DUE,
            {"ids": ids, "until": until, "by": worker, "now": now},
        )
    ).all()
    if not taken:
        return []
    subscriptions = {
        row.id: row
        for row in await session.execute(
            _SUBSCRIBERS, {"ids": list({d.subscription_id for d in taken})}
        )
    }
    claimed = []
    for d in taken:
        sub = subscriptions[d.subscription_id]
        claimed.append(
            Claimed(
                alert=Alert(d.id, d.seq, d.type, d.occurred_at, d.source_org, d.data),
                subscription_id=d.subscription_id,
                attempts=d.attempts,
                url=sub.url or "",
                secret_kid=sub.secret_kid or "",
                secret_sealed=sub.secret_sealed or b"",
                created_at=d.created_at,
                active=sub.status == ACTIVE,
            )
        )
    claimed.sort(key=lambda c: (c.created_at, c.alert.seq))
    return claimed


def next_attempt(
    attempts: int, schedule: Sequence[float], retry_after: float | None, now: dt.datetime
) -> dt.datetime | None:
    """When to try again after `attempts` failed attempts; None when they are used up."""
    if attempts > len(schedule):
        return None
    wait = schedule[attempts - 1]
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return now + dt.timedelta(seconds=wait)


_RECORD = (
    update(_TABLE)
    .where(_T.id == bindparam("b_id"), _T.claimed_by == bindparam("b_worker"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        delivered_at=bindparam("b_delivered"),
        last_status=bindparam("b_http"),
        last_error=bindparam("b_error"),
        claimed_until=None,
        claimed_by=None,
    )
)


_DELIVERED = (
    update(_TABLE)
    .where(_T.id.in_(_ids()), _T.claimed_by == bindparam("by"))
    .values(
        status=DELIVERED,
        attempts=_T.attempts + 1,
        next_attempt_at=None,
        delivered_at=bindparam("now"),
        last_status=bindparam("http"),
        last_error=None,
        claimed_until=None,
        claimed_by=None,
    )
)


async def record(
    session: AsyncSession,
    worker: str,
    attempts: Sequence[Attempt],
    now: dt.datetime,
    schedule: Sequence[float],
) -> dict[str, int]:
    """Store the attempts' results (only for rows still leased to `worker`: a row whose lease
    ran out belongs to whoever took it next); counts by outcome. Deliveries, the common
    outcome, are one UPDATE per HTTP status however many there are; the others one row each."""
    params, gone, outcome = [], set(), {"delivered": 0, "retry": 0, "dead": 0}
    delivered: dict[int | None, list[Any]] = defaultdict(list)
    for a in attempts:
        if a.delivered:
            delivered[a.status].append(a.claimed.alert.id)
            outcome["delivered"] += 1
            continue
        tries = a.claimed.attempts + 1
        finished = a.gone or a.final
        when = None if finished else next_attempt(tries, schedule, a.retry_after, now)
        outcome["retry" if when is not None else "dead"] += 1
        if a.gone:
            gone.add(a.claimed.subscription_id)
        params.append(
            {
                "b_id": a.claimed.alert.id,
                "b_worker": worker,
                "b_status": PENDING if when is not None else DEAD,
                "b_attempts": tries,
                "b_next": when,
                "b_delivered": None,
                "b_http": a.status,
                "b_error": (a.error or "")[:200] or None,
            }
        )
    for status, ids in delivered.items():
        await session.execute(_DELIVERED, {"ids": ids, "by": worker, "now": now, "http": status})
    if params:
        await session.execute(_RECORD, params)
    for subscription_id in sorted(gone):
        await session.execute(
            update(AlertSubscription)
            .where(AlertSubscription.id == subscription_id, AlertSubscription.status == ACTIVE)
            .values(status=DISABLED, status_reason="the receiver answered 410 Gone", changed_at=now)
        )
        await stop(session, subscription_id, "the subscription was disabled (410 Gone)")
    return outcome


async def stop(session: AsyncSession, subscription_id: str, reason: str) -> None:
    """Dead-letter a stopped subscription's pending deliveries."""
    await session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.subscription_id == subscription_id, AlertDelivery.status == PENDING)
        .values(status=DEAD, next_attempt_at=None, last_error=reason)
        .execution_options(synchronize_session=False)
    )


async def replay(
    session: AsyncSession, now: dt.datetime, *, subscription_id: str | None = None
) -> int:
    """Put dead deliveries of active subscriptions back in the queue, due now; how many."""
    active = select(AlertSubscription.id).where(AlertSubscription.status == ACTIVE)
    if subscription_id is not None:
        active = active.where(AlertSubscription.id == subscription_id)
    result = await session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.status == DEAD, AlertDelivery.subscription_id.in_(active))
        .values(
            status=PENDING, attempts=0, next_attempt_at=now, claimed_until=None, last_error=None
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Standing:
    """One subscription's deliveries, for `hub alerts status`."""

    subscription_id: str
    organisation: str
    mode: str
    status: str
    last_seq: int
    counts: dict[str, int]


async def standing(session: AsyncSession) -> list[Standing]:
    counted: dict[str, dict[str, int]] = {}
    for sub_id, status, n in (
        await session.execute(
            select(AlertDelivery.subscription_id, AlertDelivery.status, func.count()).group_by(
                AlertDelivery.subscription_id, AlertDelivery.status
            )
        )
    ).all():
        counted.setdefault(sub_id, {})[status] = int(n)
    subs = await session.scalars(
        select(AlertSubscription).order_by(AlertSubscription.organisation, AlertSubscription.id)
    )
    return [
        Standing(s.id, s.organisation, s.mode, s.status, s.last_seq, counted.get(s.id, {}))
        for s in subs
    ]
