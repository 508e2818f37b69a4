"""Ingestion over HTTP: a source's native file in, a batch report out.

The upload is streamed to a spooled temporary file by the multipart parser (memory stays
bounded); the file is then applied as one unit of work (see hub.ingest.service).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, UploadFile
from pydantic import BaseModel

from hub.api.links import created
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.ingest import repository, service
from hub.kit.errors import NotFound

router = APIRouter(prefix="/v1/ingest", tags=["ingest"], responses=problem_responses(401, 403, 422))

SOURCE = r"^[a-z][a-z0-9-]{1,47}$"


class RejectedRow(BaseModel):
    row: int
    location: str
    field: str
    reason: str


class BatchReport(BaseModel):
    batch_id: uuid.UUID
    source: str
    organisation: str
    status: str
    file_sha256: str | None
    file_bytes: int
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rejections: list[RejectedRow]
    """The first rejected rows; page through all of them with GET …/batches/{id}."""


def _report(batch, rejections) -> BatchReport:  # type: ignore[no-untyped-def]
    return BatchReport(
        batch_id=batch.id,
        source=batch.source,
        organisation=batch.organisation,
        status=batch.status,
        file_sha256=batch.file_sha256,
        file_bytes=batch.file_bytes,
        rows=batch.rows,
        inserted=batch.inserted,
        updated=batch.updated,
        unchanged=batch.unchanged,
        rejected=batch.rejected,
        error=batch.error,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        rejections=[
            RejectedRow(row=r.row, location=r.location, field=r.field, reason=r.reason)
            for r in rejections
        ],
    )


@router.post(
    "/{source}",
    status_code=201,
    response_model=BatchReport,
    responses=problem_responses(404)
    | created(
        201,
        "The batch report.",
        ReadBatch=(
            "get_batch_v1_ingest_batches__batch_id__get",
            "batch_id",
            "$response.body#/batch_id",
        ),
    ),
)
async def ingest(
    request: Request,
    caller: Annotated[Principal, require(Scope.RECORDS_WRITE)],
    source: Annotated[str, Path(pattern=SOURCE)],
    file: UploadFile,
) -> BatchReport:
    """Ingest one native file of a source owned by the caller's organisation."""
    state = request.app.state
    mapping = service.source_for(state.mappings, source, caller.organisation)
    report = await service.ingest_file(
        state.db,
        keyset=state.keyring.current(),
        catalogue=state.catalogue,
        mapping=mapping,
        organisation=caller.organisation,
        stream=file.file,
        actor=caller.actor,
    )
    return _report(report.batch, report.first_rejections)


@router.get("/batches/{batch_id}", response_model=BatchReport, responses=problem_responses(404))
async def get_batch(
    caller: Annotated[Principal, require(Scope.RECORDS_WRITE)],
    session: DbSession,
    batch_id: uuid.UUID,
    after_row: Annotated[int, Query(ge=0, description="Rejections after this row.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> BatchReport:
    """A batch report with a page of its rejected rows (own organisation's batches only)."""
    batch = await repository.get_batch(session, batch_id)
    if batch is None or batch.organisation != caller.organisation:
        raise NotFound("No such batch for your organisation.")
    rows = await repository.rejections(session, batch_id, after_row=after_row, limit=limit)
    return _report(batch, rows)
