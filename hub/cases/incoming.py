"""Referrals an organisation has received (issue 8): the receiving body's worklist.

A referral is answered by the body it was sent to (hub.cases.sharing.answer_referral); to
answer, the body must first learn it was sent. Listing them shows each one (the service, the
case it came from and the receiver's own pseudonym of the person), so each is a disclosure
decided like any showing of a case: the person's consent must still name the receiver for
case management (PIPA §17(2)1, §37: a withdrawal takes effect at once). Referrals whose consent
no longer stands are left out, and the refusal is logged against the person, as for the case
list (hub.cases.listing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from hub.cases.models import Case, CaseReferral
from hub.cases.sharing import REFERRAL_FIELDS
from hub.cases.views import referral_out
from hub.consents.service import for_decision
from hub.disclosures.context import Context, record
from hub.vault import subject_ref
from schemas.case import PURPOSE, RECORD, Referral, ReferralStatus
from schemas.disclosure import Decision

ACTION = "case.referrals.incoming"
MAX_LIMIT = 100


@dataclass(frozen=True)
class Incoming:
    referral: Referral
    case_id: uuid.UUID
    case_number: str
    subject_ref: str
    """The receiver's own pseudonym of the person."""


async def received(
    session: AsyncSession, ctx: Context, *, status: ReferralStatus | None, limit: int
) -> list[Incoming]:
    """The newest referrals sent to the caller's organisation (of `status`, if given) that the
    person's consent still lets it see; every one shown or withheld is logged."""
    query = (
        select(CaseReferral, Case.number)
        .join(Case, Case.id == CaseReferral.case_id)
        .where(CaseReferral.recipient == ctx.requester.organisation)
        .order_by(CaseReferral.recorded_at.desc(), CaseReferral.id.desc())
        .limit(min(limit, MAX_LIMIT))
    )
    if status is not None:
        query = query.where(CaseReferral.status == status.value)
    shown: list[Incoming] = []
    decided: dict[uuid.UUID, tuple[str | None, str]] = {}
    for row, number in (await session.execute(query)).all():
        if row.person_id not in decided:
            decision = ctx.decide(
                purpose=PURPOSE,
                categories=[RECORD],
                consents=await for_decision(session, row.person_id),
            )
            decided[row.person_id] = (decision.basis, " ".join(decision.reasons))
        basis, reasons = decided[row.person_id]
        log_ref = subject_of(ctx.keyset, row.person_id)
        if basis is None:
            await record(
                session,
                ctx.entry(
                    action=ACTION,
                    purpose=PURPOSE,
                    decision=Decision.DENY,
                    reason=f"Referral from case {number} withheld: {reasons}",
                    subject_ref=log_ref,
                ),
            )
            continue
        await record(
            session,
            ctx.entry(
                action=ACTION,
                purpose=PURPOSE,
                decision=Decision.PERMIT,
                reason=f"Listed a referral from case {number}.",
                basis=basis,
                categories=[RECORD],
                fields=(*REFERRAL_FIELDS, "case_id", "case_number", "subject_ref"),
                subject_ref=log_ref,
            ),
        )
        shown.append(
            Incoming(
                referral=referral_out(row),
                case_id=row.case_id,
                case_number=number,
                subject_ref=subject_ref(ctx.keyset, row.person_id, ctx.requester.organisation),
            )
        )
    return shown
