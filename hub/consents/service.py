"""Recording, reading, withdrawing and finding consents.

Who may do what (PIPA §17(2): the person consented to provision *to named recipients*):
- the organisation that collected a consent (its controller) records it and withdraws it;
- the controller and the organisations the consent names as recipients may read it and find
  it by subject; to anyone else it does not exist (404, never 403, so nothing is confirmed).
Reading or finding a consent discloses something about the person, so each one is a
disclosure-log entry with the consent as its basis, committed before the answer is sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.consents.models import ConsentRow
from hub.events.models import Event
from hub.kit.errors import Conflict, InvalidInput, NotFound
from hub.kit.ids import new_token_id
from hub.organisations.models import Organisation
from schemas.catalogue import Catalogue
from schemas.consent import CollectionMethod, Consent

WITHDRAWN = "consent.withdrawn"
CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far in the future a client's `given_at` or `withdrawn_at` may lie (its clock may run
ahead of the hub's)."""


@dataclass(frozen=True)
class Draft:
    """What an organisation records about a consent it collected."""

    recipients: tuple[str, ...]
    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]
    collection_method: CollectionMethod
    form_sha256: str
    given_at: dt.datetime
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None


def as_consent(row: ConsentRow) -> Consent:
    return Consent(
        id=row.id,
        controller=row.controller,
        recipients=tuple(row.recipients),
        purposes=tuple(row.purposes),
        data_categories=tuple(row.data_categories),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        collection_method=CollectionMethod(row.collection_method),
        form_sha256=row.form_sha256,
        given_at=row.given_at,
        recorded_at=row.recorded_at,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
    )


def _check_codes(catalogue: Catalogue, draft: Draft) -> None:
    unknown = [
        {"field": f"body.purposes[{i}]", "reason": "is not a catalogue purpose"}
        for i, code in enumerate(draft.purposes)
        if code not in catalogue.purposes
    ] + [
        {"field": f"body.data_categories[{i}]", "reason": "is not a catalogue data category"}
        for i, code in enumerate(draft.data_categories)
        if code not in catalogue.data_categories
    ]
    if unknown:
        raise InvalidInput("The consent names unknown codes.", errors=unknown)


async def _check_recipients(session: AsyncSession, recipients: tuple[str, ...]) -> None:
    known = set(
        await session.scalars(select(Organisation.code).where(Organisation.code.in_(recipients)))
    )
    missing = [
        {
            "field": f"body.recipients[{i}]",
            "reason": "is not an organisation registered with the hub",
        }
        for i, code in enumerate(recipients)
        if code not in known
    ]
    if missing:
        raise InvalidInput("The consent names unknown recipients.", errors=missing)


async def record(
    session: AsyncSession,
    catalogue: Catalogue,
    *,
    person_id: uuid.UUID,
    controller: str,
    client_id: str,
    draft: Draft,
    now: dt.datetime,
) -> ConsentRow:
    """Record a consent the caller's organisation collected (it becomes the controller)."""
    _check_codes(catalogue, draft)
    await _check_recipients(session, draft.recipients)
    if draft.given_at > now + CLOCK_SKEW:
        raise InvalidInput(
            "given_at lies in the future.", errors=[{"field": "body.given_at", "reason": "future"}]
        )
    valid_from = draft.valid_from or draft.given_at
    if draft.valid_until is not None and draft.valid_until <= valid_from:
        raise InvalidInput(
            "valid_until must be after valid_from.",
            errors=[{"field": "body.valid_until", "reason": "not after valid_from"}],
        )
    row = ConsentRow(
        id=new_token_id("cns"),
        person_id=person_id,
        controller=controller,
        recipients=list(draft.recipients),
        purposes=list(draft.purposes),
        data_categories=list(draft.data_categories),
        valid_from=valid_from,
        valid_until=draft.valid_until,
        collection_method=draft.collection_method.value,
        form_sha256=draft.form_sha256,
        given_at=draft.given_at,
        recorded_at=now,
        recorded_by=client_id,
    )
    try:
        as_consent(row)  # the canonical model's checks (distinct codes, coherent dates)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        raise InvalidInput(
            "The consent is not coherent.",
            errors=[
                {"field": f"body.{where}", "reason": problem["msg"].removeprefix("Value error, ")}
            ],
        ) from None
    session.add(row)
    await session.flush()
    return row


def may_see(row: ConsentRow, organisation: str) -> bool:
    return organisation == row.controller or organisation in row.recipients


async def get_visible(session: AsyncSession, consent_id: str, organisation: str) -> ConsentRow:
    """The consent if `organisation` is its controller or a recipient; otherwise not found."""
    row = await session.get(ConsentRow, consent_id)
    if row is None or not may_see(row, organisation):
        raise NotFound("No such consent.")
    return row


async def withdraw(
    session: AsyncSession,
    consent_id: str,
    *,
    organisation: str,
    reason: str,
    at: dt.datetime | None,
    now: dt.datetime,
) -> ConsentRow:
    """Withdraw a consent (PIPA §37): effective at once, and an event for the recipients."""
    row = await get_visible(session, consent_id, organisation)
    if row.controller != organisation:
        raise NotFound("No such consent.")  # a recipient may read it, not withdraw it
    if row.withdrawn_at is not None:
        raise Conflict(f"The consent was already withdrawn at {row.withdrawn_at.isoformat()}.")
    when = at or now
    if when > now + CLOCK_SKEW:
        raise InvalidInput(
            "withdrawn_at lies in the future.",
            errors=[{"field": "body.withdrawn_at", "reason": "future"}],
        )
    if when < row.given_at:
        raise InvalidInput(
            "withdrawn_at is before the consent was given.",
            errors=[{"field": "body.withdrawn_at", "reason": "before given_at"}],
        )
    row.withdrawn_at = min(when, now)
    row.withdrawal_reason = reason
    session.add(
        Event(
            type=WITHDRAWN,
            person_id=row.person_id,
            occurred_at=row.withdrawn_at,
            source_org=row.controller,
            source_event_id=row.id,
            details={"consent_id": row.id, "controller": row.controller},
            recorded_at=now,
        )
    )
    await session.flush()
    return row


async def of_subject(
    session: AsyncSession, person_id: uuid.UUID, organisation: str
) -> list[ConsentRow]:
    """The person's consents that `organisation` may see, oldest first."""
    rows = await session.scalars(
        select(ConsentRow)
        .where(ConsentRow.person_id == person_id)
        .order_by(ConsentRow.given_at, ConsentRow.id)
    )
    return [row for row in rows if may_see(row, organisation)]


@cache
def _consents_of() -> Select[Any]:
    # Built on first use, not at import: `person_id` takes its type from persons.id only once
    # that table is mapped.
    return select(*ConsentRow.__table__.c).where(ConsentRow.person_id == bindparam("person_id"))


async def for_decision(session: AsyncSession, person_id: uuid.UUID) -> list[Consent]:
    """Every consent of the person, read afresh for each request: no cached permission
    outlives a request, so a withdrawal takes effect on the very next one. A prebuilt Core
    statement (the rows have the table's columns, which is all `as_consent` reads): policy
    decisions need no ORM identity."""
    rows = await session.execute(_consents_of(), {"person_id": person_id})
    return [as_consent(row) for row in rows]  # type: ignore[arg-type]


async def organisation_name(session: AsyncSession, code: str) -> str:
    name = await session.scalar(select(Organisation.name_ko).where(Organisation.code == code))
    return name or code
