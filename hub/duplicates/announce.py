"""Telling the organisations concerned that a duplicate was found: `duplicate.found` events.

Each new finding adds one event per person in it (one for a person rule, two for a household
rule) to the events outbox, in the transaction that stored the finding, so an event exists
exactly when its finding committed. The alerts workers fan them out (hub.alerts.outbox.sweep)
to the subscribers that run one of the finding's two programmes for that person
(hub.alerts.audience): the two paying organisations, and nobody else who serves the person
(need to know, 사회보장급여법 §22; DOMAIN.md "Status changes … and duplicate-benefit findings").

The event carries codes only: the finding id, the rule, the person's programme in the finding
and the programme it conflicts with.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import bulk_insert
from hub.duplicates.models import DuplicateFinding
from hub.events.models import Event
from hub.kit.ids import new_uuids

DUPLICATE_FOUND = "duplicate.found"
SOURCE = "HUB"
"""The events' source: the hub itself found the conflict (CloudEvent source …/sources/HUB)."""
BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Found:
    id: uuid.UUID
    rule_id: str
    programme_a: str
    programme_b: str
    person_a: uuid.UUID
    person_b: uuid.UUID
    found_at: dt.datetime


def _events(found: Found, recorded_at: dt.datetime, occasion: str) -> list[dict[str, object]]:
    sides = [(found.person_a, found.programme_a, found.programme_b)]
    if found.person_b != found.person_a:
        sides.append((found.person_b, found.programme_b, found.programme_a))
    return [
        {
            "type": DUPLICATE_FOUND,
            "person_id": person,
            "occurred_at": recorded_at,
            "source_org": SOURCE,
            "source_event_id": f"{found.id}:{person}:{occasion}",
            "details": {
                "finding_id": str(found.id),
                "rule_id": found.rule_id,
                "programme": programme,
                "conflicting_programme": conflicting,
            },
            "recorded_at": recorded_at,
            "fanned_out_at": None,
        }
        for person, programme, conflicting in sides
    ]


async def publish(
    session: AsyncSession, found: Iterable[Found], *, now: dt.datetime, occasion: str = "found"
) -> int:
    """Add the `duplicate.found` events of `found` to the outbox; how many events.
    `occasion` keeps a finding's later announcement (reopened) apart from its first."""
    rows = [row for f in found for row in _events(f, now, occasion)]
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        for row, event_id in zip(part, new_uuids(len(part)), strict=True):
            row["id"] = event_id
        await bulk_insert(session, Event.__table__, part)
    return len(rows)


FOUND_COLUMNS = (
    DuplicateFinding.id,
    DuplicateFinding.rule_id,
    DuplicateFinding.programme_a,
    DuplicateFinding.programme_b,
    DuplicateFinding.person_a,
    DuplicateFinding.person_b,
    DuplicateFinding.found_at,
)


async def publish_found_by(session: AsyncSession, found_by: str, *, now: dt.datetime) -> int:
    """Announce every finding first found by `found_by` (a scan, or one file's ingestion:
    called once when it ends, so each finding is announced once), a batch at a time."""
    published = 0
    last: uuid.UUID | None = None
    while True:
        query = select(*FOUND_COLUMNS).where(DuplicateFinding.found_by == found_by)
        if last is not None:
            query = query.where(DuplicateFinding.id > last)
        rows = (await session.execute(query.order_by(DuplicateFinding.id).limit(BATCH))).all()
        if not rows:
            return published
        published += await publish(session, [Found(*row) for row in rows], now=now)
        last = rows[-1].id
