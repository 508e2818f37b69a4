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
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import CompoundSelect, Select, Table, bindparam, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import dialect_of, in_parameter
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


def conferring(catalogue: Catalogue, attributes: Iterable[str] | None = None) -> frozenset[str]:
    """Codes of the programmes whose enrolments confer any of `attributes` (all when None)."""
    return _conferring(catalogue, None if attributes is None else frozenset(attributes))


@lru_cache(maxsize=256)
def _conferring(catalogue: Catalogue, wanted: frozenset[str] | None) -> frozenset[str]:
    # Every eligibility answer asks this of the same catalogue (hashed by identity: a reload
    # is a new object) for the same few attribute sets.
    return frozenset(
        code
        for code, programme in catalogue.programmes.items()
        for conferred in programme.confers
        if wanted is None or conferred.attribute in wanted
    )


@lru_cache(maxsize=256)
def _sorted(codes: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(codes))


class _Enrolled(Protocol):
    """What an enrolment's derived facts depend on (an `Enrolment` or a row of its columns)."""

    person_id: uuid.UUID
    programme_code: str
    period_start: dt.date
    period_end: dt.date | None
    source_org: str
    status: str


def derived(catalogue: Catalogue, enrolment: _Enrolled) -> list[Fact]:
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


_FACTS = cast(Table, AttributeFact.__table__)
_ENROLMENTS = cast(Table, Enrolment.__table__)


@lru_cache(maxsize=16)
def _statement(
    dialect: str, one_person: bool, some_attributes: bool, enrolments: bool
) -> CompoundSelect | Select[Any]:
    """Reported facts and the conferring enrolments in one statement (UNION ALL), so one round
    trip; a row with a `status` is an enrolment, whose `code` is its programme. Prebuilt per
    shape, with named parameters (`people` or `person`, `attributes`, `programmes`), so
    SQLAlchemy's compiled cache serves it and nothing is rebuilt per request. Over the tables'
    columns, not the mapped classes': a Core statement skips the ORM's compile and loading
    steps on every execution (about a tenth of a verify's CPU with the applicant lookup,
    benchmarks/RESULTS.md, "Eligibility")."""

    def person_is(column: Any) -> Any:
        if one_person:  # every eligibility answer: a plain comparison
            return column == bindparam("person", type_=column.type)
        return in_parameter(dialect, column, "people")

    facts, enrolments_ = _FACTS.c, _ENROLMENTS.c
    reported = select(
        facts.person_id,
        facts.attribute.label("code"),
        facts.value,
        facts.valid_from,
        facts.valid_to,
        facts.source_org,
        null().label("status"),
    ).where(person_is(facts.person_id))
    if some_attributes:
        reported = reported.where(in_parameter(dialect, facts.attribute, "attributes"))
    if not enrolments:
        return reported
    enrolled = select(
        enrolments_.person_id,
        enrolments_.programme_code,
        null(),
        enrolments_.period_start,
        enrolments_.period_end,
        enrolments_.source_org,
        enrolments_.status,
    ).where(
        person_is(enrolments_.person_id),
        in_parameter(dialect, enrolments_.programme_code, "programmes"),
    )
    return union_all(reported, enrolled)


@dataclass(frozen=True)
class FactsQuery:
    """The statement that reads facts (`facts_of`) with its parameters, for a caller that runs
    it itself (the eligibility answer runs it with its log entry: audit.log.record_with)."""

    statement: CompoundSelect | Select[Any]
    params: dict[str, Any]
    wanted: frozenset[str] | None


def facts_query(
    dialect: str,
    catalogue: Catalogue,
    person_ids: Iterable[uuid.UUID],
    attributes: Iterable[str] | None = None,
) -> FactsQuery | None:
    """The statement `facts_of` runs; None when there is no one to ask about."""
    people = list(set(person_ids))
    if not people:
        return None
    wanted = None if attributes is None else frozenset(attributes)
    programmes = _conferring(catalogue, wanted)
    statement = _statement(dialect, len(people) == 1, wanted is not None, bool(programmes))
    params = {
        "person": people[0],
        "people": people,
        "attributes": list(_sorted(wanted or frozenset())),
        "programmes": list(_sorted(programmes)),
    }
    return FactsQuery(statement, params, wanted)


def facts_from(catalogue: Catalogue, query: FactsQuery, rows: Iterable[Any]) -> list[Fact]:
    """The facts in the rows `query.statement` returned: reported ones as they are, and those
    the enrolments confer, derived."""
    wanted = query.wanted
    facts: list[Fact] = []
    for row in rows:
        if row.status is None:
            facts.append(
                Fact(
                    person_id=row.person_id,
                    attribute=row.code,
                    value=row.value,
                    valid_from=row.valid_from,
                    valid_to=row.valid_to,
                    source_org=row.source_org,
                )
            )
            continue
        enrolment = _EnrolmentRow(
            person_id=row.person_id,
            programme_code=row.code,
            period_start=row.valid_from,
            period_end=row.valid_to,
            source_org=row.source_org,
            status=row.status,
        )
        facts.extend(
            fact
            for fact in derived(catalogue, enrolment)
            if wanted is None or fact.attribute in wanted
        )
    return facts


async def facts_of(
    session: AsyncSession,
    catalogue: Catalogue,
    person_ids: Iterable[uuid.UUID],
    attributes: Iterable[str] | None = None,
) -> list[Fact]:
    """Every fact about the persons (limited to `attributes` when given): reported and derived,
    read in one statement."""
    dialect = dialect_of(session)
    query = facts_query(dialect, catalogue, person_ids, attributes)
    if query is None:
        return []
    return facts_from(catalogue, query, await session.execute(query.statement, query.params))


@dataclass(frozen=True)
class _EnrolmentRow:
    person_id: uuid.UUID
    programme_code: str
    period_start: dt.date
    period_end: dt.date | None
    source_org: str
    status: str
