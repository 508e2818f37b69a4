"""Eligibility: yes/no attribute checks, current benefits and recommendations (issue 5).

Each answer is released only after its disclosure-log entry commits; each refusal (bad input,
another organisation's programme, no basis) is logged in its own transaction, then answered.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from hub.api.disclosing import SubjectIn, context, refusals_logged, release
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, StatementConnection, require
from hub.auth.scopes import Scope
from hub.eligibility import answers, recommend, service
from schemas.common import DottedCode, ProgrammeCode, PurposeCode
from schemas.identifiers import parse_rrn

router = APIRouter(
    prefix="/v1/eligibility",
    tags=["eligibility"],
    responses=problem_responses(401, 403, 422, 503),
)


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attribute: DottedCode
    equals: StrictBool | Annotated[str, Field(max_length=40)] | None = Field(
        default=None, description="For an enum attribute: the value asked about."
    )
    at_most: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        default=None, description="For an income band: percent of 기준중위소득."
    )


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    programme: ProgrammeCode = Field(description="The caller's programme being assessed.")
    attributes: Annotated[list[QuestionIn], Field(min_length=1, max_length=20)]
    as_of: dt.date | None = Field(default=None, description="Default: today (UTC).")


class AnswerOut(BaseModel):
    attribute: str
    answer: bool | Literal["unknown"]
    source: str = Field(description="The ministry whose register is authoritative.")


class VerifyOut(BaseModel):
    subject_ref: str | None = Field(description="Your pseudonym of the person; null if unknown.")
    as_of: dt.date
    basis: str
    answers: list[AnswerOut]


class BenefitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    purpose: PurposeCode = Field(description="eligibility.verification or benefit.administration.")
    programme: ProgrammeCode | None = Field(
        default=None, description="Your programme the person applies for, if any."
    )
    as_of: dt.date | None = None


class BenefitOut(BaseModel):
    programme: str
    name_ko: str
    ministry: str | None
    period_start: dt.date
    period_end: dt.date | None
    status: str


class BenefitsOut(BaseModel):
    subject_ref: str | None
    as_of: dt.date
    basis: str
    items: list[BenefitOut]


class RecommendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    as_of: dt.date | None = None


class RecommendationOut(BaseModel):
    programme: str
    name_ko: str
    ministry: str | None
    meets: list[str] = Field(description="The requirements known to hold, in words.")
    cannot_judge: list[str] = Field(description="Requirements the hub has no data for.")
    how_to_apply: str
    where_to_apply: str


class RecommendOut(BaseModel):
    subject_ref: str | None
    as_of: dt.date
    basis: str
    items: list[RecommendationOut]


def _today(request_date: dt.date | None, now: dt.datetime) -> dt.date:
    return request_date or now.date()


@router.post("/verify", response_model=VerifyOut)
async def verify(
    principal: Annotated[Principal, require(Scope.ELIGIBILITY_VERIFY)],
    connection: StatementConnection,
    request: Request,
    body: VerifyIn,
) -> VerifyOut:
    """Answer true, false or "unknown" per attribute for your programme's applicant."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        result = await service.verify(
            connection,
            ctx,
            rrn=parse_rrn(body.subject.rrn),
            programme_code=body.programme,
            questions=[answers.Question(q.attribute, q.equals, q.at_most) for q in body.attributes],
            as_of=_today(body.as_of, ctx.now),
        )
    await release(connection)
    return VerifyOut(
        subject_ref=result.subject_ref,
        as_of=result.as_of,
        basis=result.basis,
        answers=[
            AnswerOut(attribute=a.attribute, answer=a.answer, source=a.source)
            for a in result.answers
        ],
    )


@router.post("/benefits", response_model=BenefitsOut)
async def benefits(
    principal: Annotated[Principal, require(Scope.BENEFITS_READ)],
    session: DbSession,
    request: Request,
    body: BenefitsIn,
) -> BenefitsOut:
    """List the person's current enrolments, when a basis covers them."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        result = await service.benefits(
            session,
            ctx,
            rrn=parse_rrn(body.subject.rrn),
            purpose=body.purpose,
            programme_code=body.programme,
            as_of=_today(body.as_of, ctx.now),
        )
    await release(session)
    return BenefitsOut(
        subject_ref=result.subject_ref,
        as_of=result.as_of,
        basis=result.basis,
        items=[BenefitOut(**vars(item)) for item in result.items],
    )


@router.post("/recommend", response_model=RecommendOut)
async def recommend_programmes(
    principal: Annotated[Principal, require(Scope.ELIGIBILITY_VERIFY)],
    session: DbSession,
    request: Request,
    body: RecommendIn,
) -> RecommendOut:
    """Programmes the person appears to qualify for and does not receive (복지알림이)."""
    ctx = context(request, principal)
    async with refusals_logged(request):
        result = await recommend.recommend(
            session, ctx, rrn=parse_rrn(body.subject.rrn), as_of=_today(body.as_of, ctx.now)
        )
    await release(session)
    return RecommendOut(
        subject_ref=result.subject_ref,
        as_of=result.as_of,
        basis=result.basis,
        items=[RecommendationOut(**vars(item)) for item in result.items],
    )
