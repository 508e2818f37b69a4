"""A person's attribute facts: those sources reported, and those their enrolments confer.

A programme's `confers` (catalogue data) says which facts an enrolment establishes for its
period: being in 생계급여 makes a person a basic-livelihood recipient (국민기초생활 보장법 §2).
Those facts are derived here, when they are read, from the enrolments as stored, instead of
being written as rows of their own at ingestion. So a changed, suspended or ended enrolment
changes its facts at once, with nothing to keep in step, and a load writes each enrolment
once (materialising them doubled the rows written for basic-livelihood enrolments;
benchmarks/RESULTS.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.records.models import AttributeFact, Enrolment
from schemas.catalogue import Catalogue


@dataclass(frozen=True)
class Fact:
    """One attribute value held over a period, with where it came from."""

    person_id: uuid.UUID
    attribute: str
    value: bool | int | str
    valid_from: dt.date
    valid_to: dt.date | None
    source_org: str
    programme: str | None = None
    """The conferring programme, for a fact derived from an enrolment."""

    def holds_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def conferring(catalogue: Catalogue, attributes: Iterable[str] | None = None) -> set[str]:
    """Codes of the programmes whose enrolments confer any of `attributes` (all when None)."""
    wanted = None if attributes is None else set(attributes)
    return {
        code
        for code, programme in catalogue.programmes.items()
        for conferred in programme.confers
        if wanted is None or conferred.attribute in wanted
    }


def derived(catalogue: Catalogue, enrolment: Enrolment) -> list[Fact]:
    """The facts an enrolment confers; none while it is suspended (the person does not hold
    the status then)."""
    if enrolment.status == "suspended":
        return []
    return [
        Fact(
            person_id=enrolment.person_id,
            attribute=conferred.attribute,
            value=conferred.value,
            valid_from=enrolment.period_start,
            valid_to=enrolment.period_end,
            source_org=enrolment.source_org,
            programme=enrolment.programme_code,
        )
        for conferred in catalogue.programmes[enrolment.programme_code].confers
    ]


async def facts_of(
    session: AsyncSession,
    catalogue: Catalogue,
    person_ids: Iterable[uuid.UUID],
    attributes: Iterable[str] | None = None,
) -> list[Fact]:
    """Every fact about the persons (limited to `attributes` when given): reported and derived."""
    people = list(set(person_ids))
    wanted = None if attributes is None else set(attributes)
    reported = select(AttributeFact).where(AttributeFact.person_id.in_(people))
    if wanted is not None:
        reported = reported.where(AttributeFact.attribute.in_(wanted))
    facts = [
        Fact(
            person_id=row.person_id,
            attribute=row.attribute,
            value=row.value,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            source_org=row.source_org,
        )
        for row in await session.scalars(reported)
    ]
    programmes = conferring(catalogue, wanted)
    if programmes:
        enrolments = await session.scalars(
            select(Enrolment).where(
                Enrolment.person_id.in_(people), Enrolment.programme_code.in_(programmes)
            )
        )
        for enrolment in enrolments:
            facts.extend(
                fact
                for fact in derived(catalogue, enrolment)
                if wanted is None or fact.attribute in wanted
            )
    return facts
