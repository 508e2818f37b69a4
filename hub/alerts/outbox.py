"""The events outbox: writing events beside the change they report, and fanning out the rest.

Writers that know the catalogue and keys (MOIS ingestion, POST /v1/events) publish and fan out
in their own transaction, so a change, its event and its deliveries commit together. Other
writers only add an `events` row in their transaction (hub.consents on a withdrawal,
hub.duplicates.announce on a finding) and leave `fanned_out_at` empty: `sweep`, run by every
alerts worker, fans those out in a transaction of its own. Either way nothing is lost: an event
exists exactly when its change committed, and it is marked fanned out exactly when its
deliveries committed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts.fanout import Occurrence, fan_out, lock
from hub.database import bulk_insert
from hub.events.models import Event
from hub.kit.ids import new_uuids
from hub.vault import KeySet
from schemas.catalogue import Catalogue

SWEEP_BATCH = 500


@dataclass(frozen=True)
class NewEvent:
    type: str
    person_id: uuid.UUID
    occurred_at: dt.datetime
    source_org: str
    source_event_id: str
    details: dict[str, str] = field(default_factory=dict)


async def publish(
    session: AsyncSession,
    events: Sequence[NewEvent],
    *,
    now: dt.datetime,
    catalogue: Catalogue | None = None,
    keyset: KeySet | None = None,
) -> int:
    """Add the events to the outbox in the session's transaction, and fan them out there too
    when the catalogue and keys are given (else a worker's sweep does it). Deliveries made."""
    if not events:
        return 0
    inline = catalogue is not None and keyset is not None
    ids = new_uuids(len(events))
    await bulk_insert(
        session,
        Event.__table__,
        [
            {
                "id": event_id,
                "type": e.type,
                "person_id": e.person_id,
                "occurred_at": e.occurred_at,
                "source_org": e.source_org,
                "source_event_id": e.source_event_id,
                "details": dict(e.details),
                "recorded_at": now,
                "fanned_out_at": now if inline else None,
            }
            for event_id, e in zip(ids, events, strict=True)
        ],
    )
    if catalogue is None or keyset is None:
        return 0
    occurrences = [
        Occurrence(i, e.type, e.person_id, e.occurred_at, e.source_org, dict(e.details))
        for i, e in zip(ids, events, strict=True)
    ]
    return await fan_out(session, catalogue, keyset, occurrences, now)


async def sweep(
    session: AsyncSession,
    catalogue: Catalogue,
    keyset: KeySet,
    now: dt.datetime,
    *,
    limit: int = SWEEP_BATCH,
) -> tuple[int, int]:
    """Fan out up to `limit` events nobody fanned out yet, oldest first; (events, deliveries).
    Gives way at once if another fan-out holds the lock (it will be swept next time)."""
    if not await lock(session, wait=False):
        return 0, 0
    rows = list(
        await session.scalars(
            select(Event)
            .where(Event.fanned_out_at.is_(None))
            .order_by(Event.recorded_at, Event.id)
            .limit(limit)
        )
    )
    if not rows:
        return 0, 0
    occurrences = [
        Occurrence(r.id, r.type, r.person_id, r.occurred_at, r.source_org, dict(r.details))
        for r in rows
    ]
    made = await fan_out(session, catalogue, keyset, occurrences, now)
    await session.execute(
        update(Event).where(Event.id.in_([r.id for r in rows])).values(fanned_out_at=now)
    )
    return len(rows), made


async def waiting(session: AsyncSession) -> int:
    """Events not fanned out yet."""
    count = await session.scalar(
        select(func.count()).select_from(Event).where(Event.fanned_out_at.is_(None))
    )
    return int(count or 0)
