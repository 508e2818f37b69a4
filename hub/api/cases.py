"""Case records of 통합사례관리 over HTTP (issue 8): open, list, read, change, share, refer,
answer a referral, and the conference pack.

Reads need `cases:read`, changes `cases:write`. Every answer rests on the person's consent
(hub.cases.access) and is released only after its disclosure-log entry commits; refusals (a
non-participant's 404, a 403 for want of consent, bad input) are logged in their own
transaction, then answered. The person is named only by the caller's `subject_ref`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from hub.api.disclosing import SubjectIn, context, refusals_logged, release
from hub.api.idempotent import once
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.cases import listing, service, sharing
from schemas.case import (
    CaseRecord,
    CaseType,
    ClosureCode,
    HouseholdClass,
    NeedsAssessment,
    NoteDraft,
    PlanItem,
    Referral,
    ReferralStatus,
    Stage,
)
from schemas.common import OrganisationCode, ProgrammeCode
from schemas.identifiers import parse_rrn

router = APIRouter(
    prefix="/v1/cases",
    tags=["cases"],
    responses=problem_responses(401, 403, 404, 422, 503),
)
Reader = Annotated[Principal, require(Scope.CASES_READ)]
Writer = Annotated[Principal, require(Scope.CASES_WRITE)]
CaseCategory = Literal[
    "case.record", "case.needs", "case.sensitive.mental_health", "case.sensitive.addiction"
]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
Categories = Annotated[
    list[CaseCategory] | None,
    Query(description="The categories wanted; default: the most your share and a consent cover."),
]


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    discovered_on: dt.date = Field(description="The day the household was found (발굴).")


class StageMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Stage
    on: dt.date = Field(description="The day the stage was entered (Korean calendar day).")
    closure_code: ClosureCode | None = Field(default=None, description="Needed to close.")


class CasePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: StageMoveIn | None = Field(default=None, description="Applied after the rest.")
    needs: NeedsAssessment | None = None
    household_class: HouseholdClass | None = None
    class_reason: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="Needed for not_selected (미선정). No personal data."
    )
    case_type: CaseType | None = None
    plan: Annotated[list[PlanItem], Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="The whole plan: recorded as a new version."
    )
    notes: Annotated[list[NoteDraft], Field(max_length=50)] = Field(
        default_factory=list, description="Monitoring notes to add."
    )

    @model_validator(mode="after")
    def _something(self) -> CasePatch:
        if not self.model_fields_set - {"notes"} and not self.notes:
            raise ValueError("the change is empty")
        return self


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: OrganisationCode
    data_categories: Annotated[list[CaseCategory], Field(min_length=1, max_length=4)] = Field(
        description="What the co-manager may see; case.record is always included."
    )


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: OrganisationCode
    service: Annotated[str, Field(min_length=1, max_length=200)]
    programme: ProgrammeCode | None = None


class ReferralAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["completed", "declined"]
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="Needed to decline (반려). No personal data."
    )


def _valid_cursor(value: str | None) -> str | None:
    if value is not None:
        listing.decode_cursor(value)  # InvalidCursor is a ValueError: a 422 naming the field
    return value


Cursor = Annotated[
    str | None,
    Field(max_length=128, description="`next_cursor` of the previous page."),
    AfterValidator(_valid_cursor),
]


class CasePage(BaseModel):
    items: list[CaseRecord]
    count: int
    next_cursor: str | None = Field(description="Send as `cursor` for the next page; null: last.")


@router.post("", status_code=201, response_model=CaseRecord, responses=problem_responses(409))
async def open_case(
    principal: Writer,
    session: DbSession,
    request: Request,
    body: CaseIn,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Open a case (발굴) for a person whose consent names you; you become its lead."""
    ctx = context(request, principal)
    one = await once(request, principal, idempotency_key, "POST /v1/cases")
    replay = await one.earlier(session)
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status)
    async with refusals_logged(request):
        case = await service.open_case(
            session, ctx, rrn=parse_rrn(body.subject.rrn), discovered_on=body.discovered_on
        )
    payload = json.loads(case.model_dump_json())
    await one.remember(session, status=201, body=payload, now=ctx.now)
    await release(session)
    return JSONResponse(payload, status_code=201, headers={"Location": f"/v1/cases/{case.id}"})


@router.get("", response_model=CasePage)
async def list_cases(
    principal: Reader,
    session: DbSession,
    request: Request,
    overdue: Annotated[bool | None, Query(description="Only cases past a deadline.")] = None,
    stage: Annotated[Stage | None, Query()] = None,
    cursor: Annotated[Cursor, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_LIMIT)] = 20,
) -> CasePage:
    """The cases you lead or co-manage whose consent still covers you, newest first."""
    ctx = context(request, principal)
    page = await listing.list_cases(
        session, ctx, overdue=overdue, stage=stage, cursor=cursor, limit=limit
    )
    await release(session)
    return CasePage(items=page.items, count=len(page.items), next_cursor=page.next_cursor)


@router.get("/{case_id}", response_model=CaseRecord)
async def read_case(
    principal: Reader,
    session: DbSession,
    request: Request,
    case_id: uuid.UUID,
    categories: Categories = None,
) -> CaseRecord:
    """One case you take part in, as far as your share and the person's consent reach."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        case = await service.read_case(session, ctx, case_id, categories)
    await release(session)
    return case


@router.patch("/{case_id}", response_model=CaseRecord, responses=problem_responses(409))
async def change_case(
    principal: Writer, session: DbSession, request: Request, case_id: uuid.UUID, body: CasePatch
) -> CaseRecord:
    """Move the stage, record needs, class, type, plan or notes, or close; rules give 409."""
    ctx = context(request, principal)
    move = body.stage
    change = service.Change(
        needs=body.needs,
        household_class=body.household_class,
        class_reason=body.class_reason,
        case_type=body.case_type,
        plan=tuple(body.plan) if body.plan is not None else None,
        notes=tuple(body.notes),
        move=service.Move(move.to, move.on, move.closure_code) if move else None,
    )
    async with refusals_logged(request):
        case = await service.update_case(session, ctx, case_id, change)
    await release(session)
    return case


@router.post(
    "/{case_id}/shares",
    status_code=201,
    response_model=CaseRecord,
    responses=problem_responses(409),
)
async def share_case(
    principal: Writer,
    session: DbSession,
    request: Request,
    case_id: uuid.UUID,
    body: ShareIn,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Make an organisation a co-manager for categories the person's consent names it for."""
    ctx = context(request, principal)
    one = await once(request, principal, idempotency_key, f"POST /v1/cases/{case_id.hex}/shares")
    replay = await one.earlier(session)
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status)
    async with refusals_logged(request):
        case = await sharing.share_case(
            session,
            ctx,
            case_id,
            organisation=body.organisation,
            categories=body.data_categories,
        )
    payload = json.loads(case.model_dump_json())
    await one.remember(session, status=201, body=payload, now=ctx.now)
    await release(session)
    return JSONResponse(payload, status_code=201)


@router.post(
    "/{case_id}/referrals",
    status_code=201,
    response_model=Referral,
    responses=problem_responses(409),
)
async def refer(
    principal: Writer,
    session: DbSession,
    request: Request,
    case_id: uuid.UUID,
    body: ReferralIn,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Refer the person to an organisation for a service (status requested, 신청)."""
    ctx = context(request, principal)
    operation = f"POST /v1/cases/{case_id.hex}/referrals"
    one = await once(request, principal, idempotency_key, operation)
    replay = await one.earlier(session)
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status)
    async with refusals_logged(request):
        referral = await sharing.refer(
            session,
            ctx,
            case_id,
            organisation=body.organisation,
            service=body.service,
            programme=body.programme,
        )
    payload = json.loads(referral.model_dump_json())
    await one.remember(session, status=201, body=payload, now=ctx.now)
    await release(session)
    return JSONResponse(payload, status_code=201)


@router.patch(
    "/{case_id}/referrals/{referral_id}",
    response_model=Referral,
    responses=problem_responses(409),
)
async def answer_referral(
    principal: Writer,
    session: DbSession,
    request: Request,
    case_id: uuid.UUID,
    referral_id: uuid.UUID,
    body: ReferralAnswer,
) -> Referral:
    """As the receiving organisation, answer a referral: completed (완료) or declined (반려)."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        referral = await sharing.answer_referral(
            session,
            ctx,
            case_id,
            referral_id,
            status=ReferralStatus(body.status),
            reason=body.reason,
        )
    await release(session)
    return referral


@router.get("/{case_id}/conference-pack", response_model=CaseRecord)
async def conference_pack(
    principal: Reader,
    session: DbSession,
    request: Request,
    case_id: uuid.UUID,
    categories: Categories = None,
) -> CaseRecord:
    """The case for a case conference: name, RRN, phone numbers and e-mail removed."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        pack = await service.conference_pack(session, ctx, case_id, categories)
    await release(session)
    return pack
