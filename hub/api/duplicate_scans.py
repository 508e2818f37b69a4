"""`POST /v1/duplicates/scans` (operators, `admin`): every duplicate rule over every enrolment.

The scan runs synchronously inside the request's transaction and answers with its record.
Why not a background job: a full scan is a handful of set-based statements (about ten seconds
for a million enrolments on PostgreSQL, benchmarks/RESULTS.md), and the ingestion hook already
finds conflicts as they arrive, so a scan is an operator's consistency sweep, not the way
findings are made. A synchronous answer needs no job table, no worker and no polling, and its
findings commit with the scan record or not at all. `hub duplicates scan` runs the same scan
with a progress bar. The answer carries counts only, no personal data, so it is not a
disclosure.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hub.api.idempotent import once
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.duplicates.scan import ScanReport, scan
from hub.kit.clock import utcnow

router = APIRouter(
    prefix="/v1/duplicates", tags=["duplicates"], responses=problem_responses(401, 403, 422)
)
OPERATION = "POST /v1/duplicates/scans"


class RuleCountOut(BaseModel):
    rule_id: str
    matched: int = Field(description="Pairs the rule matched, found before or now.")
    new_findings: int


class ScanOut(BaseModel):
    id: uuid.UUID
    status: str
    rule_set_hash: str = Field(description="SHA-256 of the duplicate rules the scan applied.")
    requested_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    seconds: float
    matched: int = Field(description="Pairs all rules matched.")
    new_findings: int = Field(description="Findings this scan added (the rest existed).")
    rules: list[RuleCountOut]


def _out(report: ScanReport) -> ScanOut:
    record = report.scan
    return ScanOut(
        id=record.id,
        status=record.status,
        rule_set_hash=record.rule_set_hash,
        requested_by=record.requested_by,
        started_at=record.started_at,
        finished_at=record.finished_at,
        seconds=round(report.seconds, 3),
        matched=record.matched,
        new_findings=record.new_findings,
        rules=[
            RuleCountOut(rule_id=r.rule_id, matched=r.matched, new_findings=r.new_findings)
            for r in report.rules
        ],
    )


@router.post("/scans", status_code=201, response_model=ScanOut)
async def start_scan(
    principal: Annotated[Principal, require(Scope.ADMIN)],
    session: DbSession,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Run every duplicate rule over all enrolments now; returns the scan and its counts."""
    one = await once(request, principal, idempotency_key, OPERATION)
    replay = await one.earlier(session)
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status)
    requested_by = principal.client_id + (f" ({principal.actor})" if principal.actor else "")
    report = await scan(session, request.app.state.catalogue, requested_by=requested_by[:128])
    payload = json.loads(_out(report).model_dump_json())
    await one.remember(session, status=201, body=payload, now=utcnow())
    return JSONResponse(payload, status_code=201)
