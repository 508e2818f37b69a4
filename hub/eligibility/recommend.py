"""복지알림이: programmes a person appears to qualify for and does not receive.

사회보장급여법 §12 (자료 또는 정보의 제공과 홍보) lets a 보장기관 look for people who qualify for
benefits they have not applied for. The recommender reads only what that basis allows
(`READS`): enrolments and the status and income attributes; everything else it meets in a
programme's requirements (assets, civil data) it reports as "cannot judge", so the adviser
knows what to ask. Age, household and region come from the person record the hub keeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.disclosures.context import Context, record
from hub.disclosures.subjects import Subject, find
from hub.eligibility import requirements
from hub.eligibility.service import complete_attributes, decide, enrolments_of
from hub.records.facts import facts_of
from hub.records.models import Person
from schemas.disclosure import Decision
from schemas.identifiers import ResidentRegistrationNumber

DISCOVERY = "missed_service.discovery"
READS = (
    "benefit.enrolment",
    "status.basic_livelihood",
    "status.near_poverty",
    "status.disability",
    "status.single_parent",
    "status.national_merit",
    "status.basic_pension",
    "income.band",
)
"""The data categories the recommender reads, and so asks the policy for."""


@dataclass(frozen=True)
class Recommendation:
    programme: str
    name_ko: str
    ministry: str | None
    meets: list[str]
    cannot_judge: list[str]
    how_to_apply: str
    where_to_apply: str


@dataclass(frozen=True)
class Recommendations:
    subject_ref: str | None
    as_of: dt.date
    basis: str
    items: list[Recommendation]


async def _profile(
    session: AsyncSession, ctx: Context, subject: Subject, as_of: dt.date
) -> requirements.Profile:
    person = subject.person
    attributes = {
        code
        for code, attribute in ctx.catalogue.attributes.items()
        if attribute.data_category in READS
    }
    facts = await facts_of(session, ctx.catalogue, [person.id], attributes)
    held: dict[str, set[bool | int | str]] = {}
    for fact in facts:
        if fact.holds_on(as_of):
            held.setdefault(fact.attribute, set()).add(fact.value)
    household = None
    if person.household_id:
        household = tuple(
            await session.scalars(
                select(Person.birth_date).where(Person.household_id == person.household_id)
            )
        )
    return requirements.Profile(
        as_of=as_of,
        birth_date=person.birth_date,
        region_code=person.region_code,
        household_birth_dates=household,
        facts={name: frozenset(values) for name, values in held.items()},
        complete=complete_attributes(ctx.catalogue) & attributes,
    )


async def recommend(
    session: AsyncSession, ctx: Context, *, rrn: ResidentRegistrationNumber, as_of: dt.date
) -> Recommendations:
    """Programmes whose requirements nothing known contradicts and at least one known fact
    supports, that the person does not currently receive."""
    action = "eligibility.recommend"
    subject = await find(session, ctx, rrn)
    basis = await decide(
        session,
        ctx,
        action=action,
        purpose=DISCOVERY,
        categories=READS,
        subject=subject,
        own_programme=False,
        programme=None,
    )
    items: list[Recommendation] = []
    if subject is not None:
        profile = await _profile(session, ctx, subject, as_of)
        receiving = {
            e.programme_code
            for e in await enrolments_of(session, subject.person.id)
            if e.status == "active"
            and e.period_start <= as_of
            and (e.period_end is None or as_of <= e.period_end)
        }
        for code, programme in sorted(ctx.catalogue.programmes.items()):
            if code in receiving or programme.ministry is None:
                continue  # private support is given by facilities, not applied for
            judgement = requirements.evaluate(profile, programme.requirements)
            if judgement.appears_eligible:
                items.append(
                    Recommendation(
                        programme=code,
                        name_ko=programme.name_ko,
                        ministry=programme.ministry,
                        meets=[f.reason for f in judgement.met],
                        cannot_judge=[f.reason for f in judgement.unknown],
                        how_to_apply=programme.application.how,
                        where_to_apply=programme.application.where,
                    )
                )
    await record(
        session,
        ctx.entry(
            action=action,
            purpose=DISCOVERY,
            decision=Decision.PERMIT,
            reason=f"Recommended {len(items)} programme(s).",
            basis=basis,
            categories=READS,
            fields=["programme", "meets", "cannot_judge"],
            subject_ref=subject.log_ref if subject else None,
        ),
    )
    return Recommendations(subject.ref if subject else None, as_of, basis, items)
