"""Duplicate benefits over HTTP (issue 6): the check at application, and the findings that
involve the caller with their append-only resolution history. Scans: hub.api.duplicate_scans.

Every answer that shows personal data is released only after its disclosure-log entries commit;
refusals (bad check input, another organisation's programme, no basis) are logged in their own
transaction, then answered. All endpoints need `duplicates:check`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.api.disclosing import SubjectIn, context, refusals_logged, release
from hub.api.idempotent import once
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.disclosures.context import Context
from hub.duplicates import check as checking
from hub.duplicates import findings
from schemas.common import ProgrammeCode
from schemas.duplicate_rule import RuleId, RuleSource
from schemas.identifiers import parse_rrn

router = APIRouter(
    prefix="/v1/duplicates",
    tags=["duplicates"],
    responses=problem_responses(401, 403, 422, 503),
)
Checker = Annotated[Principal, require(Scope.DUPLICATES_CHECK)]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    programme: ProgrammeCode = Field(description="Your programme the person is to be enrolled in.")
    period_start: dt.date
    period_end: dt.date | None = Field(default=None, description="Inclusive; null: open-ended.")


class ConflictOut(BaseModel):
    rule_id: str
    rule_name: str
    conflicting_programme: str
    conflicting_ministry: str | None = Field(description="Null for private support.")
    overlap_start: dt.date
    overlap_end: dt.date | None = Field(description="Null: open-ended.")
    legal_reference: str
    rule_source: RuleSource = Field(description="real, or synthetic (the real list is not public).")


class CheckOut(BaseModel):
    basis: str
    rules_hash: str = Field(description="SHA-256 of the duplicate rules applied.")
    conflicts: list[ConflictOut] = Field(
        description="Empty when there are none or the person is unknown to the hub."
    )


def _valid_cursor(value: str | None) -> str | None:
    if value is not None:
        findings.decode_cursor(value)  # InvalidCursor is a ValueError: a 422 naming the field
    return value


Cursor = Annotated[
    str | None,
    Field(max_length=128, description="`next_cursor` of the previous page."),
    AfterValidator(_valid_cursor),
]
Status = Literal["open", "confirmed", "dismissed", "resolved"]


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["confirmed", "dismissed", "resolved"]
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="Required when dismissing. No personal data."
    )


class ResolutionOut(BaseModel):
    status: str
    reason: str | None
    organisation: str
    recorded_at: dt.datetime


class FindingOut(BaseModel):
    id: uuid.UUID
    rule_id: str
    rule_name: str | None = Field(description="Null if the rule has left the catalogue.")
    rule_hash: str = Field(description="SHA-256 of the rule as it was when found.")
    programme_a: str
    ministry_a: str | None
    programme_b: str
    ministry_b: str | None
    overlap_start: dt.date
    overlap_end: dt.date | None
    status: Status
    found_at: dt.datetime
    found_by: str
    subject_refs: list[str] = Field(
        description="Your pseudonyms of the persons enrolled on your side(s) of the finding."
    )
    history: list[ResolutionOut] | None = Field(
        default=None, description="The resolutions, oldest first (not in lists)."
    )


class FindingPage(BaseModel):
    items: list[FindingOut]
    count: int
    next_cursor: str | None = Field(description="Send as `cursor` for the next page; null: last.")


def _ministry(ctx: Context, code: str) -> str | None:
    programme = ctx.catalogue.programmes.get(code)
    return programme.ministry if programme else None


def _finding_out(ctx: Context, shown: findings.Shown, *, history: bool) -> FindingOut:
    f = shown.finding
    rule = next((r for r in ctx.catalogue.duplicate_rules if r.id == f.rule_id), None)
    return FindingOut(
        id=f.id,
        rule_id=f.rule_id,
        rule_name=rule.name_ko if rule else None,
        rule_hash=f.rule_hash,
        programme_a=f.programme_a,
        ministry_a=_ministry(ctx, f.programme_a),
        programme_b=f.programme_b,
        ministry_b=_ministry(ctx, f.programme_b),
        overlap_start=f.overlap_start,
        overlap_end=f.overlap_end,
        status=f.status,
        found_at=f.found_at,
        found_by=f.found_by,
        subject_refs=list(shown.subject_refs),
        history=[
            ResolutionOut(
                status=r.status,
                reason=r.reason,
                organisation=r.organisation,
                recorded_at=r.recorded_at,
            )
            for r in shown.history
        ]
        if history
        else None,
    )


@router.post("/check", response_model=CheckOut)
async def check(
    principal: Checker, session: DbSession, request: Request, body: CheckIn
) -> CheckOut:
    """Conflicts of enrolling the person in your programme for the period."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        outcome = await checking.check(
            session,
            ctx,
            rrn=parse_rrn(body.subject.rrn),
            programme_code=body.programme,
            period_start=body.period_start,
            period_end=body.period_end,
        )
    await release(session)
    return CheckOut(
        basis=outcome.basis,
        rules_hash=outcome.rules_hash,
        conflicts=[ConflictOut(**vars(c)) for c in outcome.conflicts],
    )


@router.get("/findings", response_model=FindingPage)
async def list_findings(
    principal: Checker,
    session: DbSession,
    request: Request,
    status: Annotated[Status | None, Query()] = None,
    rule_id: Annotated[RuleId | None, Query()] = None,
    programme: Annotated[ProgrammeCode | None, Query(description="On either side.")] = None,
    cursor: Annotated[Cursor, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=findings.MAX_LIMIT)] = 50,
) -> FindingPage:
    """Findings that involve your programmes or your own records, newest first."""
    ctx = context(request, principal)
    filters = findings.Filters(status=status, rule_id=rule_id, programme=programme)
    page = await findings.list_findings(session, ctx, filters, cursor=cursor, limit=limit)
    await release(session)
    items = [_finding_out(ctx, shown, history=False) for shown in page.items]
    return FindingPage(items=items, count=len(items), next_cursor=page.next_cursor)


@router.get("/findings/{finding_id}", response_model=FindingOut, responses=problem_responses(404))
async def read_finding(
    principal: Checker, session: DbSession, request: Request, finding_id: uuid.UUID
) -> FindingOut:
    """One finding that involves you, with its resolution history."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        shown = await findings.get_finding(session, ctx, finding_id)
    await release(session)
    return _finding_out(ctx, shown, history=True)


@router.post(
    "/findings/{finding_id}/resolution",
    status_code=201,
    response_model=FindingOut,
    responses=problem_responses(404, 409),
)
async def resolve_finding(
    principal: Checker,
    session: DbSession,
    request: Request,
    finding_id: uuid.UUID,
    body: ResolutionIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Confirm, dismiss (with a reason) or resolve a finding; never stops a payment."""
    ctx = context(request, principal)
    operation = f"POST /v1/duplicates/findings/{finding_id.hex}/resolution"
    one = await once(request, principal, idempotency_key, operation)
    replay = await one.earlier(session)
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status)
    async with refusals_logged(request):
        shown = await findings.resolve(
            session, ctx, finding_id, status=body.status, reason=body.reason
        )
    payload = json.loads(_finding_out(ctx, shown, history=True).model_dump_json())
    await one.remember(session, status=201, body=payload, now=ctx.now)
    await release(session)
    return JSONResponse(payload, status_code=201)
