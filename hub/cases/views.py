"""A case as one participant may see it: the rows read and assembled, each section only under
the categories decided for the call (hub.cases.access); and the log entry of the showing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.cases import stages
from hub.cases.access import Access
from hub.cases.models import (
    Case,
    CaseAssessment,
    CaseNote,
    CasePlanItem,
    CaseReferral,
    CaseShare,
    CaseStep,
)
from hub.disclosures.context import Context, record
from hub.records.models import Person
from schemas.case import (
    NEEDS,
    PURPOSE,
    REFERRAL_STATUS_NAMES_KO,
    STAGE_NAMES_KO,
    Attention,
    AttentionKind,
    CaseRecord,
    CaseType,
    ClosureCode,
    Deadline,
    HouseholdClass,
    NeedsAssessment,
    Note,
    PlanItem,
    Referral,
    ReferralStatus,
    Share,
    Stage,
    StageStep,
)
from schemas.disclosure import Decision

KST = dt.timezone(dt.timedelta(hours=9), "KST")
"""Stage dates and deadlines are Korean calendar days (Korea keeps no daylight saving)."""
RECORD_FIELDS = (
    "id",
    "number",
    "subject_ref",
    "lead",
    "co_managers",
    "stage",
    "history",
    "deadlines",
    "next_due",
    "household_class",
    "class_reason",
    "case_type",
    "plan",
    "referrals",
    "shares",
    "closure_code",
    "attention",
    "opened_at",
)


def today(ctx: Context) -> dt.date:
    return ctx.now.astimezone(KST).date()


async def steps_of(session: AsyncSession, case_id: uuid.UUID) -> list[CaseStep]:
    rows = await session.scalars(
        select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.seq)
    )
    return list(rows)


async def latest_assessment(session: AsyncSession, case_id: uuid.UUID) -> CaseAssessment | None:
    return await session.scalar(
        select(CaseAssessment)
        .where(CaseAssessment.case_id == case_id)
        .order_by(CaseAssessment.recorded_at.desc(), CaseAssessment.id.desc())
        .limit(1)
    )


async def plan_of(session: AsyncSession, case: Case) -> list[PlanItem]:
    rows = await session.scalars(
        select(CasePlanItem)
        .where(CasePlanItem.case_id == case.id, CasePlanItem.version == case.plan_version)
        .order_by(CasePlanItem.position)
    )
    return [
        PlanItem(
            goal=r.goal,
            provider=r.provider,
            content=r.content,
            frequency=r.frequency,
            approved_by=r.approved_by,
            approved_on=r.approved_on,
        )
        for r in rows
    ]


def referral_out(row: CaseReferral) -> Referral:
    status = ReferralStatus(row.status)
    return Referral(
        id=str(row.id),
        organisation=row.recipient,
        service=row.service,
        programme=row.programme,
        status=status,
        status_ko=REFERRAL_STATUS_NAMES_KO[status],
        requested_at=row.recorded_at,
        requested_by=row.organisation,
        answered_at=row.answered_at,
        reason=row.reason,
    )


def facts_of(
    case: Case, steps: Sequence[CaseStep], assessed_on: dt.date | None, plan: Sequence[PlanItem]
) -> stages.Facts:
    return stages.Facts(
        steps=tuple(stages.Step(Stage(s.stage), s.entered_on) for s in steps),
        household_class=HouseholdClass(case.household_class) if case.household_class else None,
        class_reason=case.class_reason,
        case_type=CaseType(case.case_type) if case.case_type else None,
        assessed_on=assessed_on,
        plan=tuple(plan),
        closure_code=ClosureCode(case.closure_code) if case.closure_code else None,
    )


async def _shares(session: AsyncSession, case_id: uuid.UUID) -> list[Share]:
    rows = await session.scalars(
        select(CaseShare)
        .where(CaseShare.case_id == case_id)
        .order_by(CaseShare.recorded_at, CaseShare.id)
    )
    latest = {row.recipient: row for row in rows}
    return [
        Share(
            organisation=row.recipient,
            data_categories=tuple(row.data_categories),
            shared_at=row.recorded_at,
        )
        for row in latest.values()
    ]


async def view(session: AsyncSession, ctx: Context, access: Access) -> CaseRecord:
    """The case under the categories decided for the call."""
    case = access.case
    steps = await steps_of(session, case.id)
    facts = facts_of(case, steps, None, ())
    day = today(ctx)
    deadlines = stages.deadlines(facts.steps, facts.closure_code)
    needs = None
    if NEEDS in access.categories:
        latest = await latest_assessment(session, case.id)
        if latest is not None:
            needs = NeedsAssessment(
                scores=latest.scores,
                crisis_level=latest.crisis_level,
                assessed_on=latest.assessed_on,
            )
    notes = await session.scalars(
        select(CaseNote)
        .where(CaseNote.case_id == case.id, CaseNote.category.in_(access.categories))
        .order_by(CaseNote.recorded_at, CaseNote.position)
    )
    referrals = await session.scalars(
        select(CaseReferral)
        .where(CaseReferral.case_id == case.id)
        .order_by(CaseReferral.recorded_at, CaseReferral.id)
    )
    shares = await _shares(session, case.id)
    return CaseRecord(
        id=str(case.id),
        number=case.number,
        subject_ref=access.ref,
        lead=case.lead,
        co_managers=tuple(s.organisation for s in shares),
        stage=Stage(case.stage),
        stage_ko=STAGE_NAMES_KO[Stage(case.stage)],
        history=tuple(
            StageStep(
                stage=Stage(s.stage),
                name_ko=STAGE_NAMES_KO[Stage(s.stage)],
                on=s.entered_on,
                organisation=s.organisation,
                recorded_at=s.recorded_at,
            )
            for s in steps
        ),
        deadlines=tuple(
            Deadline(rule=d.rule, stage=d.stage, due=d.due, met_on=d.met_on, overdue=d.overdue(day))
            for d in deadlines
        ),
        next_due=case.next_due_on,
        household_class=facts.household_class,
        class_reason=case.class_reason,
        case_type=facts.case_type,
        needs=needs,
        plan=tuple(await plan_of(session, case)),
        plan_version=case.plan_version,
        notes=tuple(
            Note(
                text=n.text,
                category=n.category,
                recorded_at=n.recorded_at,
                organisation=n.organisation,
            )
            for n in notes
        ),
        referrals=tuple(referral_out(r) for r in referrals),
        shares=tuple(shares),
        closure_code=facts.closure_code,
        attention=attention_of(case),
        opened_at=case.opened_at,
        data_categories=access.categories,
        basis=access.basis,
    )


def attention_of(case: Case) -> Attention | None:
    """The flag a registry event raised on the case (hub.cases.consequences), if any."""
    if case.attention is None or case.attention_since is None:
        return None
    return Attention(
        kind=AttentionKind(case.attention),
        since=case.attention_since,
        reason=case.attention_reason or "",
        transfer_region=case.transfer_region,
    )


def fields_of(categories: Sequence[str]) -> list[str]:
    fields = list(RECORD_FIELDS)
    if NEEDS in categories:
        fields.append("needs")
    fields.append("notes")
    return fields


async def shown(
    session: AsyncSession, ctx: Context, access: Access, *, action: str, reason: str
) -> None:
    """The permit entry of one showing of the case, on its basis and categories."""
    await record(
        session,
        ctx.entry(
            action=action,
            purpose=PURPOSE,
            decision=Decision.PERMIT,
            reason=f"{reason} (case {access.case.number}).",
            basis=access.basis,
            categories=access.categories,
            fields=fields_of(access.categories),
            subject_ref=access.log_ref,
        ),
    )


async def known_names(session: AsyncSession, person_id: uuid.UUID) -> list[str]:
    """The names the hub knows in the person's household (for the conference pack)."""
    person = await session.get(Person, person_id)
    if person is None:
        return []
    names = [person.name]
    if person.household_id:
        names += list(
            await session.scalars(
                select(Person.name).where(Person.household_id == person.household_id)
            )
        )
    return names
