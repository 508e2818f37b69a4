"""What a registry event does to the cases of the person it is about (issue 8, DOMAIN.md "Case
consequences"; 주민등록법: the resident registry is authoritative for deaths and moves).

- A death closes the open cases of a one-person household, with closure code `death`, on the
  date of death. In a larger household nothing is closed: the household's open cases (the
  deceased's own and the other members') are flagged for reassessment (재사정), because the
  household's needs have changed.
- A move to another 시군구 than the one of the case's lead flags the case for transfer to the
  new 시군구 (DOMAIN.md: a move transfers the case). Moving back clears the flag.

Flags stay until the lead acts (hub.cases.service clears a reassessment when the case is moved
back to assessment, and any flag when the case is closed). The event source is recorded as the
organisation of the closing step; no personal data goes into reasons.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.cases import stages
from hub.cases.models import Case, CaseStep
from hub.database import one_of
from hub.organisations.models import Organisation
from hub.records.models import Person
from schemas.case import AttentionKind, ClosureCode, Stage
from schemas.event import StatusEventType

SETTLED = (Stage.CLOSURE.value, Stage.FOLLOW_UP.value)
CONSEQUENTIAL = frozenset(
    {StatusEventType.PERSON_DIED.value, StatusEventType.PERSON_ADDRESS_CHANGED.value}
)
SYSTEM_CLIENT = "hub"
"""The client named on a step the hub records on a registry's word."""


@dataclass(frozen=True)
class Change:
    """A registry event, as far as cases care."""

    person_id: uuid.UUID
    type: str
    effective_date: dt.date
    source: str
    new_region_code: str | None = None


def sigungu(region_code: str | None) -> str | None:
    """The 시군구 part of a region code (its first five digits)."""
    return region_code[:5] if region_code and len(region_code) >= 5 else None


async def _open_cases(session: AsyncSession, person_ids: Iterable[uuid.UUID]) -> list[Case]:
    ids = list(set(person_ids))
    if not ids:
        return []
    rows = await session.scalars(
        select(Case)
        .where(Case.person_id.in_(ids), Case.stage.not_in(SETTLED))
        .order_by(Case.opened_at, Case.id)
        .with_for_update()
    )
    return list(rows)


async def _household_members(
    session: AsyncSession, person_id: uuid.UUID
) -> tuple[list[uuid.UUID], int]:
    """The other members of the person's household, and how many of them are alive."""
    household = await session.scalar(select(Person.household_id).where(Person.id == person_id))
    if household is None:
        return [], 0
    rows = (
        await session.execute(
            select(Person.id, Person.civil_status).where(
                Person.household_id == household, Person.id != person_id
            )
        )
    ).all()
    return [r.id for r in rows], sum(1 for r in rows if r.civil_status == "alive")


def _flag(case: Case, kind: AttentionKind, since: dt.date, reason: str, now: dt.datetime) -> None:
    case.attention, case.attention_since, case.attention_reason = kind.value, since, reason
    case.transfer_region = None
    case.updated_at = now


async def _close_for_death(
    session: AsyncSession, case: Case, change: Change, now: dt.datetime
) -> None:
    steps = list(
        await session.scalars(
            select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.seq)
        )
    )
    # A late report must not put the closing step before the last one recorded.
    on = max([change.effective_date, *(s.entered_on for s in steps)])
    session.add(
        CaseStep(
            case_id=case.id,
            seq=len(steps) + 1,
            stage=Stage.CLOSURE.value,
            entered_on=on,
            closure_code=ClosureCode.DEATH.value,
            organisation=change.source,
            client_id=SYSTEM_CLIENT,
            actor=None,
            recorded_at=now,
        )
    )
    case.stage, case.closure_code = Stage.CLOSURE.value, ClosureCode.DEATH.value
    history = [stages.Step(Stage(s.stage), s.entered_on) for s in steps]
    case.next_due_on = stages.next_due(
        [*history, stages.Step(Stage.CLOSURE, on)], ClosureCode.DEATH
    )
    case.attention = case.attention_since = case.attention_reason = case.transfer_region = None
    case.updated_at = now


async def _died(session: AsyncSession, change: Change, now: dt.datetime) -> int:
    members, alive = await _household_members(session, change.person_id)
    own = await _open_cases(session, [change.person_id])
    if alive == 0:  # a one-person household: its cases end with the person
        for case in own:
            await _close_for_death(session, case, change, now)
        return len(own)
    day = change.effective_date.isoformat()
    for case in own:
        _flag(
            case,
            AttentionKind.REASSESSMENT,
            change.effective_date,
            f"the person died on {day}; the household is reassessed",
            now,
        )
    others = await _open_cases(session, members)
    for case in others:
        _flag(
            case,
            AttentionKind.REASSESSMENT,
            change.effective_date,
            f"a member of the household died on {day}; the household is reassessed",
            now,
        )
    return len(own) + len(others)


async def _moved(session: AsyncSession, change: Change, now: dt.datetime) -> int:
    to = sigungu(change.new_region_code)
    cases = await _open_cases(session, [change.person_id])
    if to is None or not cases:
        return 0
    regions = dict(
        (
            await session.execute(
                select(Organisation.code, Organisation.region_code).where(
                    Organisation.code.in_({c.lead for c in cases})
                )
            )
        ).all()
    )
    touched = 0
    for case in cases:
        home = sigungu(regions.get(case.lead))
        if home is None:  # a national body's case is not tied to a 시군구
            continue
        if home != to:
            reason = f"the person moved to 시군구 {to} on {change.effective_date.isoformat()}"
            _flag(case, AttentionKind.TRANSFER, change.effective_date, reason, now)
            case.transfer_region = to
            touched += 1
        elif case.attention == AttentionKind.TRANSFER.value:  # moved back
            case.attention = case.attention_since = case.attention_reason = None
            case.transfer_region = None
            case.updated_at = now
            touched += 1
    return touched


async def _any_open_case(session: AsyncSession, changes: Sequence[Change]) -> bool:
    """Whether any open case is about the changes' persons or their households: one query, so
    a registry file about people without cases (nearly all of them) costs nothing more."""
    persons = list({c.person_id for c in changes})
    households = select(Person.household_id).where(
        one_of(session, Person.id, persons), Person.household_id.is_not(None)
    )
    concerned = select(Person.id).where(
        one_of(session, Person.id, persons) | Person.household_id.in_(households)
    )
    found = await session.scalar(
        select(Case.id).where(Case.person_id.in_(concerned), Case.stage.not_in(SETTLED)).limit(1)
    )
    return found is not None


async def apply(session: AsyncSession, changes: Sequence[Change], *, now: dt.datetime) -> int:
    """Apply the changes' consequences to open cases, in effective-date order (after the
    person rows were updated); how many cases were closed or flagged."""
    relevant = [c for c in changes if c.type in CONSEQUENTIAL]
    if not relevant or not await _any_open_case(session, relevant):
        return 0
    touched = 0
    for change in sorted(relevant, key=lambda c: c.effective_date):
        if change.type == StatusEventType.PERSON_DIED.value:
            touched += await _died(session, change, now)
        elif change.type == StatusEventType.PERSON_ADDRESS_CHANGED.value:
            touched += await _moved(session, change, now)
    if touched:
        await session.flush()
    return touched
