"""Writing a chunk's canonical records in bulk, idempotently.

Each record is keyed by (source organisation, source record/event id) and carries the
fingerprint of its content. Against what is stored a row is: new (inserted), changed
(updated), unchanged (nothing written), or, when the same batch already wrote that key with
other content, a conflicting repeat (rejected). Attribute facts that a programme `confers`
are not written here: they are derived from the enrolments when read (hub.records.facts).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.mapper import Rejection, Staged
from hub.alerts.intake import as_new_event, case_change, civil_change
from hub.alerts.outbox import publish
from hub.cases import consequences
from hub.database import bulk_insert, copy_rows, dialect_of, one_of, update_rows
from hub.ingest.keyfilter import KeyFilter
from hub.ingest.unchanged import UnchangedKeys
from hub.kit.ids import new_uuids
from hub.records.models import AttributeFact, Enrolment, Person, StatusEvent
from hub.vault import KeySet
from schemas.catalogue import Catalogue
from schemas.event import StatusEventRecord

CONFLICT = "repeated in this file with different content"


@dataclass
class Outcome:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    changed_enrolments: dict[uuid.UUID, str] = field(default_factory=dict)
    """Stored enrolments this chunk changed (id → programme): their findings are revisited."""

    def reject(self, row: Staged, where: str, reason: str) -> None:
        self.rejections.append(Rejection(row.row, row.location, where, reason))


@dataclass(frozen=True)
class Stored:
    id: uuid.UUID
    fingerprint: str
    batch_id: uuid.UUID | None


@dataclass(frozen=True)
class Load:
    """One file's load, as its writers need it: where, from whom, and what it met before."""

    session: AsyncSession
    organisation: str
    batch_id: uuid.UUID
    now: dt.datetime
    unchanged: UnchangedKeys
    """The keys the file found unchanged so far (hub.ingest.unchanged)."""
    written: KeyFilter | None = None
    """On a source's first load, the keys the file wrote so far (Ingestion._first_load_keys)."""


@dataclass
class Plan:
    inserts: list[Staged] = field(default_factory=list)
    updates: list[tuple[uuid.UUID, Staged]] = field(default_factory=list)
    unchanged: list[Staged] = field(default_factory=list)
    """Rows that match a record an earlier batch wrote: the file must remember their keys."""


async def stored_versions(
    session: AsyncSession,
    model: Any,
    key: Any,
    organisation: str,
    rows: Sequence[Staged],
    written: KeyFilter | None = None,
) -> dict[str, Stored]:
    """What the store holds for the chunk's keys: id, fingerprint and last batch per key.

    With `written` (the source had nothing stored when its file began), only the keys the
    file may have written in earlier chunks are looked up, and the chunk's keys are added to
    it: the caller writes them next (Ingestion._first_load_keys)."""
    keys = list({row.key for row in rows})
    if written is not None:
        keys = written.add_again(keys)
        if not keys:
            return {}
    source: Any = organisation
    if written is not None and dialect_of(session) == "postgresql":
        # The planner's statistics, taken before the file, say the source has no rows, so a
        # lookup of the few keys the filter lets through was planned as a scan of all the
        # source's rows, by the source alone, filtering the keys: cheap for no rows, and 40 to
        # 110 ms a chunk for the rows the file had written since (benchmarks/RESULTS.md,
        # issue 3). As a sub-select's result the source is a value the planner cannot see,
        # which it takes for an average source's share: only a lookup by source and key can
        # then be cheap.
        source = select(literal(organisation)).scalar_subquery()
    result = await session.execute(
        select(key, model.id, model.fingerprint, model.batch_id).where(
            model.source_org == source, one_of(session, key, keys)
        )
    )
    return {k: Stored(i, f or "", b) for k, i, f, b in result.all()}


def classify(
    rows: Sequence[Staged], stored: dict[str, Stored], batch_id: uuid.UUID, outcome: Outcome
) -> Plan:
    """Decide per row: insert, update, unchanged, or conflicting repeat (inserts and updates
    are counted once `planned` has settled them)."""
    plan = Plan()
    seen: dict[str, Staged] = {}
    for row in rows:
        earlier = seen.get(row.key)
        if earlier is not None:
            if earlier.fingerprint == row.fingerprint:
                outcome.unchanged += 1
            else:
                outcome.reject(row, "source_record_id", f"{CONFLICT} (first at row {earlier.row})")
            continue
        seen[row.key] = row
        existing = stored.get(row.key)
        if existing is None:
            plan.inserts.append(row)
        elif existing.fingerprint == row.fingerprint:
            outcome.unchanged += 1
            if existing.batch_id != batch_id:
                plan.unchanged.append(row)
        elif existing.batch_id == batch_id:
            outcome.reject(row, "source_record_id", CONFLICT)
        else:
            plan.updates.append((existing.id, row))
    return plan


async def planned(
    load: Load, model: Any, key: Any, rows: Sequence[Staged], outcome: Outcome
) -> Plan:
    """The chunk's plan against what is stored and what the file met before: a change to a
    key the file found unchanged in an earlier chunk is a conflicting repeat, as a change to
    a key it wrote is (hub.ingest.unchanged)."""
    session = load.session
    stored = await stored_versions(session, model, key, load.organisation, rows, load.written)
    plan = classify(rows, stored, load.batch_id, outcome)
    if plan.updates:
        first = await load.unchanged.first_rows(session, [row.key for _, row in plan.updates])
        if first:
            for _, row in plan.updates:
                if row.key in first:
                    reason = f"{CONFLICT} (first at row {first[row.key]})"
                    outcome.reject(row, "source_record_id", reason)
            plan.updates = [(i, row) for i, row in plan.updates if row.key not in first]
    await load.unchanged.remember(session, plan.unchanged)
    outcome.inserted += len(plan.inserts)
    outcome.updated += len(plan.updates)
    return plan


@functools.lru_cache(maxsize=4096, typed=True)
def _json(value: bool | int | str) -> str:
    """A fact's value as JSON text, once per distinct value (a file repeats a handful)."""
    return json.dumps(value, ensure_ascii=False)


def _value_key(value: bool | int | str) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- enrolments ---------------------------------------------------------------------------------


_ENROLMENT_COLUMNS = (
    "person_id",
    "programme_code",
    "source_org",
    "source_record_id",
    "period_start",
    "period_end",
    "status",
    "amount_won",
    "fingerprint",
    "batch_id",
    "updated_at",
)


def _enrolment_values(
    row: Staged, person_id: uuid.UUID, batch_id: uuid.UUID, now: dt.datetime
) -> tuple[Any, ...]:
    """The enrolment's columns, in _ENROLMENT_COLUMNS order (EnrolmentRecord's fields)."""
    record = row.record
    return (
        person_id,
        record["programme"],
        record["source"],
        record["source_record_id"],
        record["period_start"],
        record["period_end"],
        record["status"].value,
        record["amount_won"],
        row.fingerprint,
        batch_id,
        now,
    )


async def write_enrolments(
    load: Load,
    rows: Sequence[Staged],
    persons: dict[str, uuid.UUID],
    outcome: Outcome,
) -> dict[uuid.UUID, str]:
    """Write the chunk's enrolments; the programme of each one inserted or changed, by id
    (what the duplicate rules must look at again, hub.duplicates.ingested)."""
    plan = await planned(load, Enrolment, Enrolment.source_record_id, rows, outcome)
    session, batch_id, now = load.session, load.batch_id, load.now
    ids = new_uuids(len(plan.inserts))
    inserts = [
        (enrolment_id, now, *_enrolment_values(row, persons[row.rrn], batch_id, now))
        for row, enrolment_id in zip(plan.inserts, ids, strict=True)
    ]
    await copy_rows(
        session, Enrolment.__table__, ("id", "created_at", *_ENROLMENT_COLUMNS), inserts
    )
    examine = {
        enrolment_id: row.record["programme"]
        for row, enrolment_id in zip(plan.inserts, ids, strict=True)
    }
    updates = [
        dict(
            zip(
                _ENROLMENT_COLUMNS,
                _enrolment_values(row, persons[row.rrn], batch_id, now),
                strict=True,
            )
        )
        | {"id": enrolment_id}
        for enrolment_id, row in plan.updates
    ]
    if updates:
        await session.execute(update(Enrolment), updates)
        changed = {row["id"]: row["programme_code"] for row in updates}
        outcome.changed_enrolments.update(changed)
        examine.update(changed)
    return examine


# -- attribute facts reported by a source -------------------------------------------------------


_FACT_COLUMNS = (
    "person_id",
    "attribute",
    "value",
    "value_key",
    "valid_from",
    "valid_to",
    "source_org",
    "source_record_id",
    "fingerprint",
    "batch_id",
    "recorded_at",
)


def _fact_values(
    row: Staged, person_id: uuid.UUID, batch_id: uuid.UUID, now: dt.datetime
) -> tuple[Any, ...]:
    """The fact's columns, in _FACT_COLUMNS order (AttributeFact's fields)."""
    fact = row.record
    return (
        person_id,
        fact["attribute"],
        _json(fact["value"]),
        _value_key(fact["value"]),
        fact["valid_from"],
        fact["valid_to"],
        fact["source"],
        fact["source_record_id"],
        row.fingerprint,
        batch_id,
        now,
    )


async def write_facts(
    load: Load,
    rows: Sequence[Staged],
    persons: dict[str, uuid.UUID],
    outcome: Outcome,
) -> None:
    # One row states one attribute: a changed attribute is a changed fingerprint (an update).
    plan = await planned(load, AttributeFact, AttributeFact.source_record_id, rows, outcome)
    session, batch_id, now = load.session, load.batch_id, load.now
    inserts = [
        (fact_id, *_fact_values(row, persons[row.rrn], batch_id, now))
        for row, fact_id in zip(plan.inserts, new_uuids(len(plan.inserts)), strict=True)
    ]
    table = AttributeFact.__table__
    await copy_rows(session, table, ("id", *_FACT_COLUMNS), inserts, json_encoded=True)
    updates = [
        dict(zip(_FACT_COLUMNS, _fact_values(row, persons[row.rrn], batch_id, now), strict=True))
        | {"id": fact_id, "value": row.record["value"]}
        for fact_id, row in plan.updates
    ]
    if updates:
        await session.execute(update(AttributeFact), updates)


# -- status events from the registry ------------------------------------------------------------


def _merged_by_person(changes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per person: the person's changes merged in the order given (effective-date
    order), so the latest value of each column wins, as applying them one by one would leave
    it. One bulk UPDATE then applies them all; a statement per event cost about two thirds
    of a registry file's writing (benchmarks/RESULTS.md, issue 3). A column a person's
    changes do not name keeps its value (`update_rows`)."""
    merged: dict[uuid.UUID, dict[str, Any]] = {}
    for change in changes:
        merged.setdefault(change["id"], {}).update(change)
    return list(merged.values())


async def write_events(
    load: Load,
    rows: Sequence[Staged],
    persons: dict[str, uuid.UUID],
    outcome: Outcome,
    *,
    catalogue: Catalogue | None = None,
    keyset: KeySet | None = None,
) -> None:
    """Write the chunk's registry events, apply them to the persons, and put each new one in
    the alerts outbox. With the catalogue and keys the new events are also fanned out here,
    so the change, its event and its deliveries commit with the file (hub.alerts.outbox);
    without them an alerts worker fans them out after the file commits. A corrected event (same
    id, other content) updates the record but is not sent again."""
    plan = await planned(load, StatusEvent, StatusEvent.source_event_id, rows, outcome)
    session, batch_id, now = load.session, load.batch_id, load.now
    events: list[tuple[uuid.UUID | None, uuid.UUID, Staged]] = [
        (None, persons[row.rrn], row) for row in plan.inserts
    ] + [(event_id, persons[row.rrn], row) for event_id, row in plan.updates]
    inserts, updates, changes, published, for_cases = [], [], [], [], []
    for event_id, person_id, row in sorted(events, key=lambda e: e[2].record["effective_date"]):
        # Registry events are few; the alert and case code reads them as the canonical model,
        # rebuilt here from the values the mapper validated.
        event = StatusEventRecord.model_construct(**row.record)
        values = {
            "type": event.type.value,
            "person_id": person_id,
            "effective_date": event.effective_date,
            "source_org": event.source,
            "source_event_id": event.source_event_id,
            "details": dict(event.details),
            "fingerprint": row.fingerprint,
            "batch_id": batch_id,
            "recorded_at": now,
        }
        if event_id is None:
            inserts.append(values | {"id": uuid.uuid4()})
            published.append(as_new_event(event, person_id))
        else:
            updates.append(values | {"id": event_id})
        change = civil_change(event)
        if change:
            changes.append({"id": person_id, "updated_at": now} | change)
            for_cases.append(case_change(person_id, event))
    if inserts:
        await bulk_insert(session, StatusEvent.__table__, inserts)
    if updates:
        await session.execute(update(StatusEvent), updates)
    if changes:
        await update_rows(session, Person, _merged_by_person(changes))
    await consequences.apply(session, for_cases, now=now)
    await publish(session, published, now=now, catalogue=catalogue, keyset=keyset)
