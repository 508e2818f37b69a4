"""The consent registry over HTTP: record (idempotent), read, receipt, withdraw, find.

A consent record is shown only to its parties, the organisation that collected it and the
organisations it names, and each showing is a disclosure-log entry whose basis is the consent
itself (`consent:<id>`), committed before the answer. Withdrawal takes effect on the very next
request: decisions read consents afresh every time (hub.consents.service.for_decision).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from audit.log import subject_of
from hub.api.disclosing import SubjectIn, context, release
from hub.api.idempotent import once
from hub.api.instants import Instant
from hub.api.links import BODY_ID, created
from hub.api.problems import problem_responses
from hub.auth.dependencies import Caller, DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.consents import receipt, service
from hub.consents.models import ConsentRow
from hub.disclosures.context import Context, record
from hub.kit.errors import InvalidInput
from hub.records.repository import find_by_rrn
from hub.vault import subject_ref
from schemas.common import DataCategoryCode, OrganisationCode, PurposeCode
from schemas.consent import CollectionMethod, ConsentState
from schemas.disclosure import Decision
from schemas.identifiers import parse_rrn

router = APIRouter(
    prefix="/v1/consents", tags=["consents"], responses=problem_responses(401, 403, 404, 422, 503)
)
ADMINISTRATION = "consent.administration"
SHOWN = ["identity.pseudonym", "consent.record"]
ConsentIdPath = Annotated[str, Path(pattern=r"^cns_[A-Za-z0-9_-]{16,64}$")]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    recipients: Annotated[list[OrganisationCode], Field(min_length=1, max_length=50)]
    purposes: Annotated[list[PurposeCode], Field(min_length=1, max_length=20)]
    data_categories: Annotated[list[DataCategoryCode], Field(min_length=1, max_length=40)]
    collection_method: CollectionMethod
    form_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the signed form or recording (the evidence stays with you)."
    )
    given_at: Instant
    valid_from: Instant | None = Field(default=None, description="Default: given_at.")
    valid_until: Instant | None = Field(default=None, description="Exclusive end.")


class ConsentOut(BaseModel):
    id: str
    subject_ref: str = Field(description="Your pseudonym of the person.")
    controller: str
    recipients: list[str]
    purposes: list[str]
    data_categories: list[str]
    collection_method: str
    form_sha256: str
    given_at: dt.datetime
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    recorded_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawal_reason: str | None
    state: ConsentState
    receipt: str | None = Field(
        default=None, description="Signed consent receipt (JWS), on creation only."
    )


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=200)]
    withdrawn_at: Instant | None = Field(default=None, description="Default: now.")


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn


class ConsentList(BaseModel):
    items: list[ConsentOut]
    count: int


def _out(ctx: Context, row: ConsentRow, signed: str | None = None) -> ConsentOut:
    consent = service.as_consent(row)
    return ConsentOut(
        id=row.id,
        subject_ref=subject_ref(ctx.keyset, row.person_id, ctx.requester.organisation),
        controller=row.controller,
        recipients=row.recipients,
        purposes=row.purposes,
        data_categories=row.data_categories,
        collection_method=row.collection_method,
        form_sha256=row.form_sha256,
        given_at=row.given_at,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        recorded_at=row.recorded_at,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
        state=consent.state(ctx.now),
        receipt=signed,
    )


async def _shown(session: DbSession, ctx: Context, action: str, rows: list[ConsentRow]) -> None:
    """One log entry per consent shown, its basis the consent itself."""
    for row in rows:
        await record(
            session,
            ctx.entry(
                action=action,
                purpose=ADMINISTRATION,
                decision=Decision.PERMIT,
                reason=f"Consent {row.id} shown to a party it names.",
                basis=f"consent:{row.id}",
                categories=SHOWN,
                fields=list(ConsentOut.model_fields),
                subject_ref=subject_of(ctx.keyset, row.person_id),
            ),
        )


@router.post(
    "",
    status_code=201,
    response_model=ConsentOut,
    responses=created(
        201,
        "The consent, as recorded.",
        ReadConsent=("read_consent_v1_consents__consent_id__get", "consent_id", BODY_ID),
        ConsentReceipt=(
            "consent_receipt_v1_consents__consent_id__receipt_get",
            "consent_id",
            BODY_ID,
        ),
        WithdrawConsent=(
            "withdraw_consent_v1_consents__consent_id__withdraw_post",
            "consent_id",
            BODY_ID,
        ),
    ),
)
async def create_consent(
    principal: Annotated[Principal, require(Scope.CONSENTS_WRITE)],
    session: DbSession,
    request: Request,
    body: ConsentIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Record a consent your organisation collected; returns it with a signed receipt."""
    ctx = context(request, principal)
    operation = "POST /v1/consents"
    one = await once(request, principal, idempotency_key, operation)
    replay = await one.earlier(session)
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status)
    person = await find_by_rrn(session, ctx.keyset, parse_rrn(body.subject.rrn))
    if person is None:
        raise InvalidInput(
            "The subject is not known to the hub.",
            errors=[{"field": "body.subject", "reason": "not known to the hub"}],
        )
    draft = service.Draft(
        recipients=tuple(body.recipients),
        purposes=tuple(body.purposes),
        data_categories=tuple(body.data_categories),
        collection_method=body.collection_method,
        form_sha256=body.form_sha256,
        given_at=body.given_at,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    row = await service.record(
        session,
        ctx.catalogue,
        person_id=person.id,
        controller=principal.organisation,
        client_id=principal.client_id,
        draft=draft,
        now=ctx.now,
    )
    name = await service.organisation_name(session, principal.organisation)
    out = _out(ctx, row, receipt.sign(ctx.keyset, _claims(request, ctx, row, name)))
    payload = json.loads(out.model_dump_json())
    await one.remember(session, status=201, body=payload, now=ctx.now)
    await release(session)
    return JSONResponse(payload, status_code=201, headers={"Location": f"/v1/consents/{row.id}"})


def _claims(
    request: Request, ctx: Context, row: ConsentRow, controller_name: str
) -> dict[str, Any]:
    return receipt.claims(
        service.as_consent(row),
        subject_ref=subject_ref(ctx.keyset, row.person_id, row.controller),
        controller_name=controller_name,
        catalogue=ctx.catalogue,
        issuer=request.app.state.settings.issuer,
        now=ctx.now,
    )


@router.get("/{consent_id}", response_model=ConsentOut)
async def read_consent(
    principal: Caller, session: DbSession, request: Request, consent_id: ConsentIdPath
) -> ConsentOut:
    """Read a consent your organisation collected or is named in."""
    ctx = context(request, principal)
    row = await service.get_visible(session, consent_id, principal.organisation)
    await _shown(session, ctx, "consent.read", [row])
    await release(session)
    return _out(ctx, row)


@router.get(
    "/{consent_id}/receipt",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/jose": {"schema": {"type": "string"}}}}},
)
async def consent_receipt(
    principal: Caller, session: DbSession, request: Request, consent_id: ConsentIdPath
) -> PlainTextResponse:
    """The consent's signed receipt (compact JWS; verify with /.well-known/jwks.json)."""
    ctx = context(request, principal)
    row = await service.get_visible(session, consent_id, principal.organisation)
    name = await service.organisation_name(session, row.controller)
    await _shown(session, ctx, "consent.receipt", [row])
    await release(session)
    signed = receipt.sign(ctx.keyset, _claims(request, ctx, row, name))
    return PlainTextResponse(signed, media_type="application/jose")


@router.post("/{consent_id}/withdraw", response_model=ConsentOut, responses=problem_responses(409))
async def withdraw_consent(
    principal: Annotated[Principal, require(Scope.CONSENTS_WRITE)],
    session: DbSession,
    request: Request,
    consent_id: ConsentIdPath,
    body: WithdrawIn,
) -> ConsentOut:
    """Withdraw a consent your organisation collected; effective on the next request."""
    ctx = context(request, principal)
    row = await service.withdraw(
        session,
        consent_id,
        organisation=principal.organisation,
        reason=body.reason,
        at=body.withdrawn_at,
        now=ctx.now,
    )
    await _shown(session, ctx, "consent.withdraw", [row])
    await release(session)
    return _out(ctx, row)


@router.post("/search", response_model=ConsentList)
async def search_consents(
    principal: Caller, session: DbSession, request: Request, body: SearchIn
) -> ConsentList:
    """The person's consents that your organisation collected or is named in."""
    ctx = context(request, principal)
    person = await find_by_rrn(session, ctx.keyset, parse_rrn(body.subject.rrn))
    rows = await service.of_subject(session, person.id, principal.organisation) if person else []
    await _shown(session, ctx, "consent.search", rows)
    await release(session)
    return ConsentList(items=[_out(ctx, row) for row in rows], count=len(rows))
