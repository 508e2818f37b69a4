"""Eligibility answers for ministries (DOMAIN.md scenarios A, D, E): the least the purpose needs.

Every answer and every refusal is a disclosure-log entry; an answer is released only after its
entry commits (the API commits, hub.api.disclosing). The order of work is fixed so that the
answer to a caller without a basis never depends on whether the hub knows the person:
input checks, then the programme's ownership, then the policy decision (with the person's
consents if the hub knows the person), then the person's facts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from hub.consents.service import for_decision
from hub.database import Executor, dialect_of
from hub.disclosures.context import Context, record, record_with
from hub.disclosures.subjects import Subject, find, invalid, refusing, runs
from hub.eligibility import answers, lookup
from hub.kit.errors import Forbidden
from hub.records.facts import Fact, conferring, facts_from, facts_query
from hub.records.models import Enrolment
from hub.vault import subject_ref
from schemas.catalogue import Catalogue
from schemas.consent import Consent
from schemas.disclosure import Decision
from schemas.identifiers import ResidentRegistrationNumber
from schemas.programme import Programme

VERIFICATION = "eligibility.verification"
ENROLMENTS = "benefit.enrolment"
BENEFIT_PURPOSES = ("eligibility.verification", "benefit.administration")


@lru_cache(maxsize=16)
def complete_attributes(catalogue: Catalogue) -> frozenset[str]:
    """Attributes the hub holds in full: those conferred by enrolments in programmes whose
    registers the ministries send (e.g. 생계급여 → basic-livelihood recipient). Holding no such
    fact means the person does not have it; for any other attribute it means "unknown"."""
    return frozenset(
        conferred.attribute
        for code in conferring(catalogue)
        for conferred in catalogue.programmes[code].confers
    )


def _programme(ctx: Context, code: str, field: str) -> Programme:
    programme = ctx.catalogue.programmes.get(code)
    if programme is None:
        raise invalid(field, "not a catalogue programme", f"Unknown programme {code}.")
    return programme


async def decide(
    session: AsyncSession,
    ctx: Context,
    *,
    action: str,
    purpose: str,
    categories: Sequence[str],
    subject: Subject | None,
    own_programme: bool,
    programme: str | None,
) -> str:
    """The policy decision; the basis on a permit, `Refused` (logged) otherwise. The caller is
    told the denial's kind and the categories refused, never which consents exist."""
    consents = await for_decision(session, subject.person.id) if subject else []
    return decide_with(
        ctx,
        action=action,
        purpose=purpose,
        categories=categories,
        consents=consents,
        subject_ref=subject.log_ref if subject else None,
        own_programme=own_programme,
        programme=programme,
    )


def decide_with(
    ctx: Context,
    *,
    action: str,
    purpose: str,
    categories: Sequence[str],
    consents: Sequence[Consent],
    subject_ref: str | None,
    own_programme: bool,
    programme: str | None,
) -> str:
    """`decide` on consents already read in this request (`subject_ref`: the log's pseudonym
    of the person, None if the hub does not know them)."""
    decision = ctx.decide(
        purpose=purpose,
        categories=categories,
        consents=consents,
        own_programme=own_programme,
        programme=programme,
    )
    if decision.permitted and decision.basis is not None:
        return decision.basis
    refused = ", ".join(decision.refused) or ", ".join(categories)
    error = Forbidden(
        f"No basis lets your organisation receive {refused} for {purpose}.",
        denial=decision.code.value if decision.code else "no_basis",
        refused=list(decision.refused),
    )
    raise ctx.refused(
        error,
        action=action,
        purpose=purpose,
        subject_ref=subject_ref,
        reason=" ".join(decision.reasons),
    )


# -- verify -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    subject_ref: str | None
    as_of: dt.date
    basis: str
    answers: list[answers.Answer]


async def verify(
    session: Executor,
    ctx: Context,
    *,
    rrn: ResidentRegistrationNumber,
    programme_code: str,
    questions: Sequence[answers.Question],
    as_of: dt.date,
) -> Verification:
    """Answer yes/no questions about attributes for a programme the caller runs (사회보장급여법
    §7): true, false or "unknown" each, with the source ministry."""
    action = "eligibility.verify"
    with refusing(ctx, action=action, purpose=VERIFICATION):
        programme = _programme(ctx, programme_code, "body.programme")
        answers.check_questions(ctx.catalogue, questions)
    if not runs(programme, ctx.requester.organisation, ctx.requester.kind):
        error = Forbidden(f"Programme {programme.code} is not run by your organisation.")
        raise ctx.refused(error, action=action, purpose=VERIFICATION)
    assessed = programme.attribute_codes() | set(programme.verified_attributes)
    outside = sorted({q.attribute for q in questions} - assessed)
    if outside:
        error = Forbidden(
            f"Programme {programme.code} does not assess {', '.join(outside)}.", refused=outside
        )
        raise ctx.refused(error, action=action, purpose=VERIFICATION)
    categories = sorted({ctx.catalogue.attributes[q.attribute].data_category for q in questions})
    found = await lookup.applicant(session, ctx.keyset, rrn)
    log_ref = subject_of(ctx.keyset, found.person_id) if found else None
    basis = decide_with(
        ctx,
        action=action,
        purpose=VERIFICATION,
        categories=categories,
        consents=found.consents if found else [],
        subject_ref=log_ref,
        own_programme=True,
        programme=programme.code,
    )
    entry = ctx.entry(
        action=action,
        purpose=VERIFICATION,
        decision=Decision.PERMIT,
        reason=f"Answered {len(questions)} attribute question(s) for {programme.code}.",
        basis=basis,
        categories=categories,
        fields=sorted({q.attribute for q in questions}),
        subject_ref=log_ref,
    )
    facts: list[Fact] = []
    query = facts_query(
        dialect_of(session),
        ctx.catalogue,
        [found.person_id] if found else [],
        {q.attribute for q in questions},
    )
    if query is None:
        await record(session, entry)
    else:  # the facts are read, after the decision, with the entry that logs the answer
        rows = await record_with(session, entry, query.statement, query.params)
        facts = facts_from(ctx.catalogue, query, rows)
    result = answers.answer_all(
        ctx.catalogue,
        questions,
        [f for f in facts if f.holds_on(as_of)],
        known_person=found is not None,
        complete=complete_attributes(ctx.catalogue),
    )
    ref = subject_ref(ctx.keyset, found.person_id, ctx.requester.organisation) if found else None
    return Verification(ref, as_of, basis, result)


# -- benefits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Benefit:
    programme: str
    name_ko: str
    ministry: str | None
    period_start: dt.date
    period_end: dt.date | None
    status: str


@dataclass(frozen=True)
class Benefits:
    subject_ref: str | None
    as_of: dt.date
    basis: str
    items: list[Benefit]


async def enrolments_of(session: AsyncSession, person_id: uuid.UUID) -> list[Enrolment]:
    rows = await session.scalars(
        select(Enrolment)
        .where(Enrolment.person_id == person_id)
        .order_by(Enrolment.programme_code, Enrolment.period_start)
    )
    return list(rows)


def _current(enrolment: Enrolment, day: dt.date) -> bool:
    return (
        enrolment.status == "active"
        and enrolment.period_start <= day
        and (enrolment.period_end is None or day <= enrolment.period_end)
    )


async def benefits(
    session: AsyncSession,
    ctx: Context,
    *,
    rrn: ResidentRegistrationNumber,
    purpose: str,
    programme_code: str | None,
    as_of: dt.date,
) -> Benefits:
    """The person's current enrolments, when a basis covers `benefit.enrolment` for the purpose
    (국민기초생활 보장법 §22-23: a 보장기관 reviewing its own applicant or recipient)."""
    action = "eligibility.benefits"
    with refusing(ctx, action=action, purpose=VERIFICATION):
        if purpose not in BENEFIT_PURPOSES:
            raise invalid(
                "body.purpose",
                f"one of {', '.join(BENEFIT_PURPOSES)}",
                f"Benefits are answered for {' or '.join(BENEFIT_PURPOSES)} only.",
            )
        programme = _programme(ctx, programme_code, "body.programme") if programme_code else None
    if programme is not None and not runs(
        programme, ctx.requester.organisation, ctx.requester.kind
    ):
        error = Forbidden(f"Programme {programme.code} is not run by your organisation.")
        raise ctx.refused(error, action=action, purpose=purpose)
    subject = await find(session, ctx, rrn)
    enrolments = await enrolments_of(session, subject.person.id) if subject else []
    serves = any(e.source_org == ctx.requester.organisation for e in enrolments)
    basis = await decide(
        session,
        ctx,
        action=action,
        purpose=purpose,
        categories=[ENROLMENTS],
        subject=subject,
        own_programme=programme is not None or serves,
        programme=programme.code if programme else None,
    )
    items = [
        Benefit(
            programme=e.programme_code,
            name_ko=ctx.catalogue.programmes[e.programme_code].name_ko,
            ministry=ctx.catalogue.programmes[e.programme_code].ministry,
            period_start=e.period_start,
            period_end=e.period_end,
            status=e.status,
        )
        for e in enrolments
        if _current(e, as_of)
    ]
    await record(
        session,
        ctx.entry(
            action=action,
            purpose=purpose,
            decision=Decision.PERMIT,
            reason=f"Listed {len(items)} current enrolment(s).",
            basis=basis,
            categories=[ENROLMENTS],
            fields=["programme", "ministry", "period_start", "period_end", "status"],
            subject_ref=subject.log_ref if subject else None,
        ),
    )
    return Benefits(subject.ref if subject else None, as_of, basis, items)
