"""Opening, changing, reading and listing cases, and the conference pack (issue 8).

Every call is decided by hub.cases.access (participant, then consent) and every answer is a
disclosure-log entry that the API commits before it answers (hub.api.disclosing.release).
Services only flush (ARCHITECTURE.md §5).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.cases import stages
from hub.cases.access import Access, authorise
from hub.cases.deidentify import deidentify
from hub.cases.models import (
    Case,
    CaseAssessment,
    CaseCounter,
    CaseNote,
    CasePlanItem,
    CaseStep,
)
from hub.cases.views import (
    facts_of,
    known_names,
    latest_assessment,
    plan_of,
    shown,
    steps_of,
    today,
    view,
)
from hub.consents.service import for_decision
from hub.disclosures.context import Context
from hub.disclosures.subjects import find, invalid, refusing
from hub.kit.errors import Forbidden
from schemas.case import (
    NEEDS,
    PURPOSE,
    RECORD,
    AttentionKind,
    CaseRecord,
    CaseType,
    ClosureCode,
    HouseholdClass,
    NeedsAssessment,
    NoteDraft,
    PlanItem,
    Stage,
)
from schemas.consent import ConsentState
from schemas.identifiers import ResidentRegistrationNumber

FUTURE_SLACK = dt.timedelta(days=1)
"""A stage date may lie at most this far after today (KST): a client's calendar may turn first."""


async def allocate_number(session: AsyncSession, organisation: str, year: int) -> str:
    """The organisation's next case number for the year (DOMAIN.md: allocated by the
    organisation that opened the case). One upsert: concurrent requests queue on the counter
    row's lock on PostgreSQL (SQLite has one writer), so no number is given twice."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CaseCounter).values(organisation=organisation, year=year, last=1)
    statement = statement.on_conflict_do_update(
        index_elements=[CaseCounter.organisation, CaseCounter.year],
        set_={"last": CaseCounter.last + 1},
    ).returning(CaseCounter.last)
    last = (await session.execute(statement)).scalar_one()
    return f"{organisation}-{year}-{last:05d}"


def _not_future(ctx: Context, day: dt.date, field_name: str) -> None:
    if day > today(ctx) + FUTURE_SLACK:
        raise invalid(field_name, "in the future", "A date of the case lies in the future.")


async def open_case(
    session: AsyncSession, ctx: Context, *, rrn: ResidentRegistrationNumber, discovered_on: dt.date
) -> CaseRecord:
    """Open a case at discovery (발굴). The caller becomes the lead and numbers the case. It
    needs an active consent naming the caller for case management and case.record: without
    it the hub may not hold the record (DOMAIN.md; PIPA §15(1)1). An unknown person is
    refused like a person without consent, so the answer does not tell whether the hub knows
    them."""
    action = "case.create"
    with refusing(ctx, action=action, purpose=PURPOSE):
        _not_future(ctx, discovered_on, "body.discovered_on")
    subject = await find(session, ctx, rrn)
    consents = await for_decision(session, subject.person.id) if subject else []
    decision = ctx.decide(purpose=PURPOSE, categories=[RECORD], consents=consents)
    if not decision.permitted or decision.basis is None:
        raise ctx.refused(
            Forbidden(
                f"No consent lets your organisation hold a case record for {PURPOSE}.",
                denial=decision.code.value if decision.code else "no_basis",
                refused=[RECORD],
            ),
            action=action,
            purpose=PURPOSE,
            subject_ref=subject.log_ref if subject else None,
            reason=" ".join(decision.reasons),
        )
    assert subject is not None  # a consent names a known person
    organisation = ctx.requester.organisation
    open_already = await session.scalar(
        select(Case.number).where(
            Case.person_id == subject.person.id,
            Case.lead == organisation,
            Case.stage.not_in([Stage.CLOSURE.value, Stage.FOLLOW_UP.value]),
        )
    )
    if open_already is not None:
        raise stages.broken(
            "one-open-case-per-organisation",
            f"your organisation already manages case {open_already} for the person.",
        )
    steps = (stages.Step(Stage.DISCOVERY, discovered_on),)
    case = Case(
        id=uuid.uuid4(),
        number=await allocate_number(session, organisation, today(ctx).year),
        lead=organisation,
        person_id=subject.person.id,
        stage=Stage.DISCOVERY.value,
        plan_version=0,
        next_due_on=stages.next_due(steps, None),
        opened_at=ctx.now,
        opened_by=ctx.requester.client_id,
        updated_at=ctx.now,
    )
    session.add(case)
    await session.flush()
    session.add(
        CaseStep(
            case_id=case.id,
            seq=1,
            stage=Stage.DISCOVERY.value,
            entered_on=discovered_on,
            **stamp(ctx),
        )
    )
    await session.flush()
    access = Access(case, decision.basis, (RECORD,), subject.log_ref, subject.ref, True)
    await shown(session, ctx, access, action=action, reason="Opened the case")
    return await view(session, ctx, access)


def stamp(ctx: Context) -> dict[str, object]:
    """Who records a row, and when (the columns every appended row of a case carries)."""
    who = ctx.requester
    return {
        "organisation": who.organisation,
        "client_id": who.client_id,
        "actor": who.actor,
        "recorded_at": ctx.now,
    }


@dataclass(frozen=True)
class Move:
    to: Stage
    on: dt.date
    closure_code: ClosureCode | None = None


@dataclass(frozen=True)
class Change:
    """What one PATCH changes; applied in this order: record, then the move, so one call can
    set the household class and move to classification."""

    needs: NeedsAssessment | None = None
    household_class: HouseholdClass | None = None
    class_reason: str | None = None
    case_type: CaseType | None = None
    plan: tuple[PlanItem, ...] | None = None
    notes: tuple[NoteDraft, ...] = field(default_factory=tuple)
    move: Move | None = None

    @property
    def steers(self) -> bool:
        """Whether it changes what only the lead decides."""
        return any(
            v is not None
            for v in (self.household_class, self.class_reason, self.case_type, self.plan, self.move)
        )

    def categories(self) -> set[str]:
        touched = {RECORD} | {note.category for note in self.notes}
        if self.needs is not None:
            touched.add(NEEDS)
        return touched


async def update_case(
    session: AsyncSession, ctx: Context, case_id: uuid.UUID, change: Change
) -> CaseRecord:
    """Apply a change under the stage rules (hub.cases.stages); a broken rule is a 409 naming
    it and nothing of the change is kept. Co-managers add notes and assessments; the lead also
    moves, classifies, plans and closes (the main case manager, DOMAIN.md)."""
    action = "case.update"
    with refusing(ctx, action=action, purpose=PURPOSE):
        if change.needs is not None:
            _not_future(ctx, change.needs.assessed_on, "body.needs.assessed_on")
        if change.move is not None:
            _not_future(ctx, change.move.on, "body.stage.on")
    access = await authorise(
        session,
        ctx,
        case_id,
        action=action,
        required=change.categories(),
        lead_only=change.steers,
        for_update=True,
    )
    case = access.case
    steps = await steps_of(session, case.id)
    latest = await latest_assessment(session, case.id)
    assessed_on = latest.assessed_on if latest is not None else None
    if change.needs is not None:
        assessed_on = change.needs.assessed_on
    plan = change.plan if change.plan is not None else tuple(await plan_of(session, case))
    if change.plan is not None and case.stage == Stage.SERVICE.value:
        await _plan_change_consented(session, ctx, case)
    if change.household_class is not None:
        case.household_class = change.household_class.value
        if (
            change.class_reason is None
            and change.household_class is not HouseholdClass.NOT_SELECTED
        ):
            case.class_reason = None
    if change.class_reason is not None:
        case.class_reason = change.class_reason
    if change.case_type is not None:
        case.case_type = change.case_type.value
    facts = facts_of(case, steps, assessed_on, plan)
    stages.check_record(facts)
    _record_rows(session, ctx, case, change)
    if change.move is not None:
        move = change.move
        stages.check_move(facts, move.to, move.on, move.closure_code)
        session.add(
            CaseStep(
                case_id=case.id,
                seq=len(steps) + 1,
                stage=move.to.value,
                entered_on=move.on,
                closure_code=move.closure_code.value if move.closure_code else None,
                **stamp(ctx),
            )
        )
        case.stage = move.to.value
        if move.to is Stage.CLOSURE and move.closure_code is not None:
            case.closure_code = move.closure_code.value
        if move.to is Stage.CLOSURE or (
            move.to is Stage.ASSESSMENT and case.attention == AttentionKind.REASSESSMENT.value
        ):  # the lead has acted on the registry's flag (hub.cases.consequences)
            case.attention = case.attention_since = case.attention_reason = None
            case.transfer_region = None
        steps_now = [*facts.steps, stages.Step(move.to, move.on)]
        closure = ClosureCode(case.closure_code) if case.closure_code else None
        case.next_due_on = stages.next_due(steps_now, closure)
    case.updated_at = ctx.now
    await session.flush()
    await shown(session, ctx, access, action=action, reason="Changed the case and showed it")
    return await view(session, ctx, access)


async def _plan_change_consented(session: AsyncSession, ctx: Context, case: Case) -> None:
    """DOMAIN.md: a change to the service plan in effect needs the person's consent again: an
    active consent naming the caller for case management, given after the plan it replaces."""
    in_effect = await session.scalar(
        select(func.max(CasePlanItem.recorded_at)).where(
            CasePlanItem.case_id == case.id, CasePlanItem.version == case.plan_version
        )
    )
    if in_effect is None:
        return
    renewed = [
        c
        for c in await for_decision(session, case.person_id)
        if c.state(ctx.now) is ConsentState.ACTIVE
        and ctx.requester.organisation in c.recipients
        and PURPOSE in c.purposes
        and RECORD in c.data_categories
        and c.given_at >= in_effect
    ]
    if not renewed:
        raise stages.broken(
            "plan-change-needs-renewed-consent",
            "changing the service plan in effect needs the person's consent again; record a "
            "consent given after the current plan, then change it.",
        )


def _record_rows(session: AsyncSession, ctx: Context, case: Case, change: Change) -> None:
    """Append the assessment, plan version and notes of the change (never an update)."""
    if change.needs is not None:
        needs = change.needs
        session.add(
            CaseAssessment(
                case_id=case.id,
                scores={d.value: s for d, s in needs.scores.items()},
                crisis_level=needs.crisis_level.value,
                assessed_on=needs.assessed_on,
                **stamp(ctx),
            )
        )
    if change.plan is not None:
        case.plan_version += 1
        for position, item in enumerate(change.plan, start=1):
            session.add(
                CasePlanItem(
                    case_id=case.id,
                    version=case.plan_version,
                    position=position,
                    goal=item.goal,
                    provider=item.provider,
                    content=item.content,
                    frequency=item.frequency,
                    approved_by=item.approved_by,
                    approved_on=item.approved_on,
                    **stamp(ctx),
                )
            )
    for position, note in enumerate(change.notes, start=1):
        session.add(
            CaseNote(
                case_id=case.id,
                position=position,
                category=note.category,
                text=note.text,
                **stamp(ctx),
            )
        )


async def read_case(
    session: AsyncSession, ctx: Context, case_id: uuid.UUID, wanted: list[str] | None
) -> CaseRecord:
    """The case as far as the caller's share and the person's consent reach."""
    action = "case.read"
    access = await authorise(session, ctx, case_id, action=action, wanted=wanted)
    await shown(session, ctx, access, action=action, reason="Showed the case")
    return await view(session, ctx, access)


async def conference_pack(
    session: AsyncSession, ctx: Context, case_id: uuid.UUID, wanted: list[str] | None
) -> CaseRecord:
    """The case for a case conference: no pseudonym, and the name, RRN, phone numbers and
    e-mail addresses removed from every text (DOMAIN.md; hub.cases.deidentify)."""
    action = "case.conference_pack"
    access = await authorise(session, ctx, case_id, action=action, wanted=wanted)
    await shown(session, ctx, access, action=action, reason="Gave the conference pack")
    record = await view(session, ctx, access)
    return deidentify(record, await known_names(session, access.case.person_id))
