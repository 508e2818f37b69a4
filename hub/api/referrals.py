"""Referrals received (issue 8): the receiving organisation's list of the referrals sent to it,
which it then answers with PATCH /v1/cases/{id}/referrals/{rid}. Each listed referral is a
disclosure decided on the person's consent and logged before the answer is sent."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from hub.api.disclosing import context, release
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.cases import incoming
from schemas.case import Referral, ReferralStatus

router = APIRouter(
    prefix="/v1/referrals", tags=["cases"], responses=problem_responses(401, 403, 422, 503)
)
Reader = Annotated[Principal, require(Scope.CASES_READ)]


class IncomingOut(BaseModel):
    referral: Referral
    case_id: uuid.UUID = Field(description="Answer at /v1/cases/{case_id}/referrals/{id}.")
    case_number: str
    subject_ref: str = Field(description="Your pseudonym of the person.")


class IncomingPage(BaseModel):
    items: list[IncomingOut]
    count: int


@router.get("", response_model=IncomingPage)
async def received_referrals(
    principal: Reader,
    session: DbSession,
    request: Request,
    status: Annotated[ReferralStatus | None, Query(description="Only this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=incoming.MAX_LIMIT)] = 50,
) -> IncomingPage:
    """Referrals sent to your organisation whose consent still covers you, newest first."""
    ctx = context(request, principal)
    items = await incoming.received(session, ctx, status=status, limit=limit)
    await release(session)
    return IncomingPage(
        items=[
            IncomingOut(
                referral=i.referral,
                case_id=i.case_id,
                case_number=i.case_number,
                subject_ref=i.subject_ref,
            )
            for i in items
        ],
        count=len(items),
    )
