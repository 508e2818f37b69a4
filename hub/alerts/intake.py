"""Status events reported over HTTP (POST /v1/events), recorded like a registry file's.

A reporting organisation (the resident registry for civil-status changes; a ministry for an
eligibility change; the facilities system for admissions) sends events about persons, each with
its own event id. Each new event updates the person where the registry is authoritative
(주민등록법: death, 말소, address), is stored as a status event, enters the outbox and is
fanned out, all in the request's transaction. Idempotent by (reporter, source event id): an
event sent again changes nothing, even with other content (a correction is a new event).

The answer never says whether the hub knew a person or who was told: to the reporter every
event is just accepted. An event about a person the hub does not know is dropped (nobody can
be serving them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts.kinds import KINDS, start_of_day
from hub.alerts.outbox import NewEvent, publish
from hub.cases import consequences
from hub.database import insert_for, one_of
from hub.kit.errors import Forbidden
from hub.kit.ids import new_uuids
from hub.records.models import Person, StatusEvent
from hub.vault import KeySet, candidates
from schemas.catalogue import Catalogue
from schemas.event import StatusEventRecord, StatusEventType
from schemas.identifiers import ResidentRegistrationNumber

REGISTRY = "registry"


def civil_change(event: StatusEventRecord) -> dict[str, Any]:
    """What a registry event changes on the person (주민등록법: the registry is authoritative)."""
    if event.type is StatusEventType.PERSON_DIED:
        return {"civil_status": "deceased", "civil_status_date": event.effective_date}
    if event.type is StatusEventType.PERSON_DEREGISTERED:
        return {"civil_status": "deregistered", "civil_status_date": event.effective_date}
    if event.type is StatusEventType.PERSON_ADDRESS_CHANGED and "new_region_code" in event.details:
        return {"region_code": event.details["new_region_code"]}
    return {}


def case_change(person_id: uuid.UUID, event: StatusEventRecord) -> consequences.Change:
    """The event as hub.cases.consequences reads it (a death closes or flags cases, a move
    flags them for transfer)."""
    return consequences.Change(
        person_id=person_id,
        type=event.type.value,
        effective_date=event.effective_date,
        source=event.source,
        new_region_code=event.details.get("new_region_code"),
    )


def as_new_event(event: StatusEventRecord, person_id: uuid.UUID) -> NewEvent:
    return NewEvent(
        type=event.type.value,
        person_id=person_id,
        occurred_at=start_of_day(event.effective_date),
        source_org=event.source,
        source_event_id=event.source_event_id,
        details=dict(event.details),
    )


def check_reporter(events: Sequence[StatusEventRecord], kind: str) -> None:
    """Civil-status changes come from the resident registry only."""
    civil = sorted({e.type.value for e in events if KINDS[e.type.value].registry_only})
    if civil and kind != REGISTRY:
        raise Forbidden(f"Only the resident registry reports {', '.join(civil)}.")


async def persons_by_rrn(
    session: AsyncSession, keyset: KeySet, rrns: Sequence[ResidentRegistrationNumber]
) -> dict[str, uuid.UUID]:
    """The known persons among `rrns`, by canonical RRN, in one blind-index lookup."""
    wanted = {
        (index.kid, index.digest): rrn.canonical()
        for rrn in rrns
        for index in candidates(keyset, rrn)
    }
    if not wanted:
        return {}
    rows = await session.execute(
        select(Person.id, Person.rrn_index_kid, Person.rrn_index).where(
            Person.rrn_index_kid.in_({kid for kid, _ in wanted}),
            one_of(session, Person.rrn_index, [digest for _, digest in wanted]),
        )
    )
    found: dict[str, uuid.UUID] = {}
    for person_id, kid, digest in rows.all():
        rrn = wanted.get((kid, bytes(digest)))
        if rrn is not None:
            found.setdefault(rrn, person_id)
    return found


async def _apply_changes(
    session: AsyncSession, events: Sequence[tuple[uuid.UUID, StatusEventRecord]], now: dt.datetime
) -> None:
    """Apply the civil-status changes, in effective-date order (the latest change of a field
    wins), one statement per kind of change."""
    changes: dict[uuid.UUID, dict[str, Any]] = {}
    for person_id, event in sorted(events, key=lambda pe: pe[1].effective_date):
        change = civil_change(event)
        if change:
            changes.setdefault(person_id, {}).update(change)
    kinds: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for person_id, change in changes.items():
        kinds[tuple(sorted(change))].append(
            {"b_id": person_id} | {f"b_{k}": v for k, v in change.items()}
        )
    persons = Person.__table__
    for fields, params in kinds.items():
        await session.execute(
            update(persons)
            .where(persons.c.id == bindparam("b_id"))
            .values(updated_at=now, **{f: bindparam(f"b_{f}") for f in fields}),
            params,
        )


async def record(
    session: AsyncSession,
    catalogue: Catalogue,
    keyset: KeySet,
    reported: Sequence[tuple[ResidentRegistrationNumber, StatusEventRecord]],
    *,
    now: dt.datetime,
) -> int:
    """Record the new events among `reported` and fan them out; how many were new."""
    persons = await persons_by_rrn(session, keyset, [rrn for rrn, _ in reported])
    known = [(persons[rrn.canonical()], e) for rrn, e in reported if rrn.canonical() in persons]
    if not known:
        return 0
    rows = [
        {
            "id": row_id,
            "type": e.type.value,
            "person_id": person_id,
            "effective_date": e.effective_date,
            "source_org": e.source,
            "source_event_id": e.source_event_id,
            "details": dict(e.details),
            "fingerprint": hashlib.sha256(e.model_dump_json().encode()).hexdigest(),
            "batch_id": None,
            "recorded_at": now,
        }
        for row_id, (person_id, e) in zip(new_uuids(len(known)), known, strict=True)
    ]
    table = StatusEvent.__table__
    inserted = set(
        await session.scalars(
            insert_for(session, table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["source_org", "source_event_id"])
            .returning(table.c.source_event_id)
        )
    )
    new = [(p, e) for p, e in known if e.source_event_id in inserted]
    await _apply_changes(session, new, now)
    await consequences.apply(session, [case_change(p, e) for p, e in new], now=now)
    await publish(
        session,
        [as_new_event(e, p) for p, e in new],
        now=now,
        catalogue=catalogue,
        keyset=keyset,
    )
    return len(new)
