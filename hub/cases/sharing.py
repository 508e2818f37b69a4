"""Sharing a case with a co-manager, and referrals to other bodies (issue 8).

Both disclose the case to another organisation, so both are decided twice: for the caller (a
participant whose own access the consent still covers) and for the recipient, which the
person's consent must name for case management and for every category shared (PIPA §17(2)1:
provision only to the recipients consented to; §23: a sensitive category only on a consent
naming it). DOMAIN.md: share "only within the range needed to provide the service"; the team
leader picks the categories, so a share names them and a co-manager sees no more.

A referral (서비스 연계·의뢰) tells the receiving body that the person is referred for a
service; it answers completed (완료) or declined (반려), once. 드림스타트 registers a child once
only (아동복지법 §37; programmes.yaml): a second referral of the same person that was not
declined, or a referral of a person already enrolled in it, is a 409 naming the rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from hub.cases import stages
from hub.cases.access import authorise, forbidden, not_found, ordered
from hub.cases.models import DREAM_START, Case, CaseReferral, CaseShare
from hub.cases.service import stamp
from hub.cases.views import referral_out, shown, view
from hub.consents.service import for_decision
from hub.disclosures.context import Context, record
from hub.disclosures.subjects import invalid, refusing
from hub.kit.errors import Conflict
from hub.organisations.models import Organisation
from hub.records.models import Enrolment
from schemas.case import PURPOSE, RECORD, CaseRecord, Referral, ReferralStatus
from schemas.disclosure import Decision

REFERRAL_FIELDS = tuple(Referral.model_fields)


async def _organisation(session: AsyncSession, code: str, field: str) -> Organisation:
    found = await session.get(Organisation, code)
    if found is None:
        raise invalid(field, "not an organisation registered with the hub", "Unknown organisation.")
    return found


async def _recipient_may_receive(
    session: AsyncSession,
    ctx: Context,
    case: Case,
    recipient: Organisation,
    categories: Sequence[str],
    action: str,
) -> None:
    """Refuse (logged) unless the person's consent names the recipient for these categories."""
    consents = await for_decision(session, case.person_id)
    decision = ctx.decide_for(
        recipient.code, recipient.kind, purpose=PURPOSE, categories=categories, consents=consents
    )
    if not decision.permitted:
        refused = ordered(decision.refused) or tuple(categories)
        raise forbidden(
            ctx,
            action,
            case,
            f"No consent names {recipient.code} as a recipient of {', '.join(refused)} for "
            f"{PURPOSE}.",
            denial=decision.code.value if decision.code else "no_basis",
            refused=refused,
        )


async def share_case(
    session: AsyncSession,
    ctx: Context,
    case_id: uuid.UUID,
    *,
    organisation: str,
    categories: Sequence[str],
) -> CaseRecord:
    """Make `organisation` a co-manager for `categories` (always with case.record)."""
    action = "case.share"
    wanted = ordered({RECORD, *categories})
    with refusing(ctx, action=action, purpose=PURPOSE):
        recipient = await _organisation(session, organisation, "body.organisation")
    access = await authorise(
        session, ctx, case_id, action=action, required=wanted, lead_only=True, wanted=wanted
    )
    if recipient.code == access.case.lead:
        raise stages.broken("lead-is-not-a-co-manager", "the lead organisation manages the case.")
    await _recipient_may_receive(session, ctx, access.case, recipient, wanted, action)
    session.add(
        CaseShare(
            case_id=access.case.id,
            recipient=recipient.code,
            data_categories=list(wanted),
            **stamp(ctx),
        )
    )
    await session.flush()
    await shown(
        session, ctx, access, action=action, reason=f"Shared the case with {recipient.code}"
    )
    return await view(session, ctx, access)


async def refer(
    session: AsyncSession,
    ctx: Context,
    case_id: uuid.UUID,
    *,
    organisation: str,
    service: str,
    programme: str | None,
) -> Referral:
    """Refer the person to `organisation` for a service (status requested, 신청)."""
    action = "case.referral"
    with refusing(ctx, action=action, purpose=PURPOSE):
        recipient = await _organisation(session, organisation, "body.organisation")
        if programme is not None and programme not in ctx.catalogue.programmes:
            raise invalid("body.programme", "not a catalogue programme", "Unknown programme.")
    access = await authorise(session, ctx, case_id, action=action, required=[RECORD])
    case = access.case
    await _recipient_may_receive(session, ctx, case, recipient, [RECORD], action)
    if programme == DREAM_START:
        await _dream_start_once(session, case.person_id)
    row = CaseReferral(
        case_id=case.id,
        person_id=case.person_id,
        recipient=recipient.code,
        service=service,
        programme=programme,
        status=ReferralStatus.REQUESTED.value,
        **stamp(ctx),
    )
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent referral of the same person won the index
        raise _dream_start_conflict() from None
    await record(
        session,
        ctx.entry(
            action=action,
            purpose=PURPOSE,
            decision=Decision.PERMIT,
            reason=f"Referred case {case.number} to {recipient.code}.",
            basis=access.basis,
            categories=[RECORD],
            fields=REFERRAL_FIELDS,
            subject_ref=access.log_ref,
        ),
    )
    return referral_out(row)


def _dream_start_conflict() -> Conflict:
    return stages.broken(
        "dream-start-once",
        "드림스타트 registers a child once only; the person was already referred to it or "
        "enrolled in it.",
    )


async def _dream_start_once(session: AsyncSession, person_id: uuid.UUID) -> None:
    referred = await session.scalar(
        select(CaseReferral.id).where(
            CaseReferral.person_id == person_id,
            CaseReferral.programme == DREAM_START,
            CaseReferral.status != ReferralStatus.DECLINED.value,
        )
    )
    enrolled = await session.scalar(
        select(Enrolment.id).where(
            Enrolment.person_id == person_id, Enrolment.programme_code == DREAM_START
        )
    )
    if referred is not None or enrolled is not None:
        raise _dream_start_conflict()


async def answer_referral(
    session: AsyncSession,
    ctx: Context,
    case_id: uuid.UUID,
    referral_id: uuid.UUID,
    *,
    status: ReferralStatus,
    reason: str | None,
) -> Referral:
    """The receiving organisation answers a referral: completed (완료) or declined (반려, with a
    reason), once. It needs the person's consent naming it, like any showing of the case."""
    action = "case.referral.answer"
    with refusing(ctx, action=action, purpose=PURPOSE):
        if status is ReferralStatus.REQUESTED:
            raise invalid("body.status", "completed or declined", "A referral is answered.")
        if status is ReferralStatus.DECLINED and not reason:
            raise invalid("body.reason", "required when declining", "Declining needs a reason.")
    row = await session.get(CaseReferral, referral_id)
    case = await session.get(Case, case_id)
    if row is None or case is None or row.case_id != case.id:
        raise not_found(ctx, action, case)
    if row.recipient != ctx.requester.organisation:
        raise not_found(ctx, action, case)
    consents = await for_decision(session, case.person_id)
    decision = ctx.decide(purpose=PURPOSE, categories=[RECORD], consents=consents)
    if not decision.permitted or decision.basis is None:
        raise forbidden(
            ctx,
            action,
            case,
            f"No consent lets your organisation receive {RECORD} for {PURPOSE}.",
            denial=decision.code.value if decision.code else "no_basis",
            refused=[RECORD],
        )
    moved = await session.execute(
        update(CaseReferral)
        .where(CaseReferral.id == row.id, CaseReferral.status == ReferralStatus.REQUESTED.value)
        .values(
            status=status.value,
            answered_at=ctx.now,
            answered_by=ctx.requester.client_id,
            reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise stages.broken(
            "referral-answered-once",
            f"the referral was already answered ({row.status}); a referral is answered once.",
        )
    await session.refresh(row)
    await record(
        session,
        ctx.entry(
            action=action,
            purpose=PURPOSE,
            decision=Decision.PERMIT,
            reason=f"Answered a referral of case {case.number} ({status.value}).",
            basis=decision.basis,
            categories=[RECORD],
            fields=REFERRAL_FIELDS,
            subject_ref=subject_of(ctx.keyset, case.person_id),
        ),
    )
    return referral_out(row)
