"""The disclosure log for auditors, and a person's disclosure history (PIPA §35).

Every endpoint that shows log entries records its own entry and commits it before the answer
is built (`_release`): if the entry cannot be written the caller gets a 503 problem and no
data. Refusals are recorded in a transaction of their own before the 403 (`_refusals_logged`).
Lists run newest first by entry id; pass `next_cursor` back as `cursor` for the next page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Security
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.security import SecurityScopes

from audit import queries
from hub.api import audit_payloads as payloads
from hub.api.disclosing import context, refusals_logged, release
from hub.api.instants import Instant
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, authenticate, oauth2_scheme
from hub.auth.scopes import Scope
from hub.disclosures.context import Context
from hub.kit.errors import InvalidInput
from hub.oversight import access
from hub.oversight import service as oversight
from schemas.common import OrganisationCode, PurposeCode
from schemas.disclosure import Decision
from schemas.identifiers import parse_rrn

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], responses=problem_responses(401, 403, 422, 503)
)


# --- Who is calling, refusals, and release after commit ----------------------------------------


def auditor(action: str) -> Any:
    """Security dependency: an auditor organisation's token with `audit:read`; anyone else
    is refused, and the refusal is logged as `action`."""

    async def guard(
        request: Request,
        authorization: Annotated[str | None, Depends(oauth2_scheme)],
    ) -> Context:
        principal = await authenticate(request, SecurityScopes(), authorization)
        ctx = context(request, principal)
        async with refusals_logged(request):
            access.check_auditor(ctx, action)
        return ctx

    return Security(guard, scopes=[Scope.AUDIT_READ.value])


async def _any_client(request: Request) -> Context:
    """Authenticated without a scope check: the subject report decides by purpose."""
    authorization = request.headers.get("authorization")
    principal = await authenticate(request, SecurityScopes(), authorization)
    return context(request, principal)


# --- Endpoints ---------------------------------------------------------------------------------


def _filters(
    organisation: OrganisationCode | None,
    purpose: PurposeCode | None,
    decision: Decision | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> queries.Filters:
    if since is not None and until is not None and until <= since:
        raise InvalidInput(
            "until must be after from.",
            errors=[{"field": "query.until", "reason": "not after from"}],
        )
    return queries.Filters(
        organisation=organisation,
        purpose=purpose,
        decision=decision.value if decision else None,
        since=since,
        until=until,
    )


FilterOrganisation = Annotated[
    OrganisationCode | None, Query(description="Requesting organisation.")
]
FilterPurpose = Annotated[PurposeCode | None, Query(description="Purpose of the disclosure.")]
FilterDecision = Annotated[Decision | None, Query(description="permit or deny.")]
FilterFrom = Annotated[
    Instant | None, Query(alias="from", description="Recorded at or after (RFC 3339).")
]
FilterUntil = Annotated[Instant | None, Query(description="Recorded before (RFC 3339).")]


@router.get("/disclosures", response_model=payloads.DisclosurePage)
async def list_disclosures(
    ctx: Annotated[Context, auditor("audit.disclosures.list")],
    session: DbSession,
    request: Request,
    organisation: FilterOrganisation = None,
    purpose: FilterPurpose = None,
    decision: FilterDecision = None,
    since: FilterFrom = None,
    until: FilterUntil = None,
    cursor: Annotated[payloads.Cursor, Query()] = None,
    limit: Annotated[payloads.Limit, Query()] = 50,
) -> payloads.DisclosurePage:
    """Disclosure log entries, newest first, filtered and a page at a time (auditors)."""
    filters = _filters(organisation, purpose, decision, since, until)
    async with refusals_logged(request):
        page = await oversight.list_disclosures(session, ctx, filters, cursor=cursor, limit=limit)
    await release(session)
    return payloads.page_out(page)


@router.post("/disclosures/search", response_model=payloads.DisclosurePage)
async def search_disclosures(
    ctx: Annotated[Context, auditor("audit.disclosures.search")],
    session: DbSession,
    request: Request,
    body: payloads.SearchIn,
) -> payloads.DisclosurePage:
    """One person's disclosure log entries, newest first (auditors)."""
    async with refusals_logged(request):
        page = await oversight.search_disclosures(
            session, ctx, parse_rrn(body.subject.rrn), cursor=body.cursor, limit=body.limit
        )
    await release(session)
    return payloads.page_out(page)


@router.get(
    "/disclosures/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_disclosures(
    ctx: Annotated[Context, auditor("audit.disclosures.export")],
    session: DbSession,
    request: Request,
    organisation: FilterOrganisation = None,
    purpose: FilterPurpose = None,
    decision: FilterDecision = None,
    since: FilterFrom = None,
    until: FilterUntil = None,
) -> StreamingResponse:
    """The filtered disclosure log as CSV (lists joined by spaces), streamed (auditors)."""
    filters = _filters(organisation, purpose, decision, since, until)
    async with refusals_logged(request):
        await oversight.start_export(session, ctx, filters)
    await release(session)
    return StreamingResponse(
        payloads.csv_chunks(oversight.export_batches(request.app.state.db, filters)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="disclosures.csv"'},
    )


@router.post(
    "/subject-report",
    response_model=payloads.SubjectReport,
    openapi_extra={
        "security": [
            {"hub_oauth2": [Scope.AUDIT_READ.value]},
            {"hub_oauth2": [Scope.SUBJECTS_REPORT.value]},
        ]
    },
)
async def subject_report(
    ctx: Annotated[Context, Depends(_any_client)],
    session: DbSession,
    request: Request,
    body: payloads.SubjectReportIn,
) -> payloads.SubjectReport:
    """Who received a person's data, when, why and on what basis (auditors; serving bodies)."""
    async with refusals_logged(request):
        report = await oversight.subject_report(
            session, ctx, parse_rrn(body.subject.rrn), body.purpose
        )
    await release(session)
    return payloads.report_out(report, ctx.now)


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(404),
    },
)
async def checkpoint(
    _ctx: Annotated[Context, auditor("audit.checkpoint.read")], session: DbSession
) -> PlainTextResponse:
    """The latest signed checkpoint: a C2SP tlog-checkpoint in an Ed25519 signed note."""
    latest = await oversight.latest_checkpoint(session)
    return PlainTextResponse(latest.note, media_type="text/plain; charset=utf-8")


@router.get("/proof/inclusion", response_model=payloads.InclusionProof)
async def inclusion_proof(
    _ctx: Annotated[Context, auditor("audit.proof.inclusion")],
    session: DbSession,
    index: Annotated[int, Query(ge=0, description="Leaf index.")],
    size: Annotated[int, Query(ge=1, description="Tree size, at most the latest checkpoint's.")],
) -> payloads.InclusionProof:
    """An RFC 9162 inclusion proof of one leaf in the tree of a given size."""
    proof = await oversight.inclusion(session, index, size)
    return payloads.InclusionProof(
        index=proof.index,
        size=proof.size,
        leaf_hash=payloads.b64(proof.leaf_hash),
        proof=[payloads.b64(p) for p in proof.proof],
        root=payloads.b64(proof.root),
    )


@router.get("/proof/consistency", response_model=payloads.ConsistencyProof)
async def consistency_proof(
    _ctx: Annotated[Context, auditor("audit.proof.consistency")],
    session: DbSession,
    old: Annotated[int, Query(ge=1, description="Older tree size.")],
    new: Annotated[
        int, Query(ge=1, description="Newer tree size, at most the latest checkpoint's.")
    ],
) -> payloads.ConsistencyProof:
    """An RFC 9162 consistency proof between two tree sizes."""
    proof = await oversight.consistency(session, old, new)
    return payloads.ConsistencyProof(
        old=proof.old,
        new=proof.new,
        proof=[payloads.b64(p) for p in proof.proof],
        old_root=payloads.b64(proof.old_root),
        new_root=payloads.b64(proof.new_root),
    )


@router.get(
    "/entries/{index}",
    response_model=payloads.SequencedEntry,
    responses=problem_responses(404, 410),
)
async def get_entry(
    ctx: Annotated[Context, auditor("audit.entries.read")],
    session: DbSession,
    request: Request,
    index: Annotated[int, Path(ge=0, description="Leaf index.")],
) -> payloads.SequencedEntry:
    """The log entry at a leaf index, with its leaf hash (auditors)."""
    async with refusals_logged(request):
        found = await oversight.read_entry(session, ctx, index)
    await release(session)
    return payloads.SequencedEntry(
        index=found.index, entry=found.entry, leaf_hash=payloads.b64(found.leaf_hash)
    )
