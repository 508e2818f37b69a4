"""Status events reported over HTTP (POST /v1/events): recorded, then fanned out as alerts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hub.alerts import admission, intake
from hub.api.disclosing import SubjectIn
from hub.api.idempotent import once
from hub.api.problems import problem_responses
from hub.auth.dependencies import DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.kit.clock import utcnow
from hub.kit.errors import InvalidInput
from schemas.common import SourceRecordId
from schemas.event import StatusEventRecord, StatusEventType
from schemas.identifiers import ResidentRegistrationNumber, parse_rrn

router = APIRouter(tags=["events"], responses=problem_responses(401, 403, 422))
MAX_EVENTS = 1000


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    type: StatusEventType
    effective_date: dt.date = Field(description="The day the change took effect.")
    source_event_id: SourceRecordId = Field(description="Your id of the event (idempotency).")
    reported_at: AwareDatetime = Field(description="When your register recorded the change.")
    details: dict[str, str] = Field(
        default_factory=dict,
        description="Non-identifying details, e.g. new_region_code for an address change.",
    )


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[EventIn], Field(min_length=1, max_length=MAX_EVENTS)]


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events accepted (an event sent again changes nothing).")


def _records(
    body: EventsIn, organisation: str
) -> list[tuple[ResidentRegistrationNumber, StatusEventRecord]]:
    """The canonical records, or a 422 naming each bad event and field."""
    records, errors, seen = [], [], set()
    for i, item in enumerate(body.events):
        if item.source_event_id in seen:
            errors.append({"field": f"body.events[{i}].source_event_id", "reason": "repeated"})
            continue
        seen.add(item.source_event_id)
        try:
            record = StatusEventRecord(
                type=item.type,
                effective_date=item.effective_date,
                source=organisation,
                source_event_id=item.source_event_id,
                reported_at=item.reported_at,
                details=item.details,
            )
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"]) or "details"
                reason = error["msg"].removeprefix("Value error, ")
                errors.append({"field": f"body.events[{i}].{where}", "reason": reason})
            continue
        records.append((parse_rrn(item.subject.rrn), record))
    if errors:
        raise InvalidInput(
            f"{len(errors)} event(s) are not valid; nothing was recorded.", errors=errors
        )
    return records


@router.post("/v1/events", status_code=202, response_model=EventsAccepted)
async def report_events(
    principal: Annotated[Principal, require(Scope.EVENTS_WRITE)],
    session: DbSession,
    request: Request,
    body: EventsIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Report status events (death, 말소, move, eligibility, facility); idempotent by event id.

    When the hub runs with backpressure (HUB_ALERT_ADMISSION_LAG), the request may first wait,
    a bounded time, for alert delivery to catch up; the events are recorded either way."""
    operation = "POST /v1/events"
    state = request.app.state
    one = await once(request, principal, idempotency_key, operation)
    # A request sent again (a reporter retrying after a timeout, likely while intake waits)
    # records nothing new, so its stored answer is replayed without waiting.
    replay = await one.earlier(session)
    if replay is None and state.settings.alert_admission_lag > 0:
        await session.rollback()  # the read's connection goes back: a waiting request holds none
        await admission.admit(
            state.db.statement_engine,
            lag=state.settings.alert_admission_lag,
            longest=state.settings.alert_admission_wait,
        )
        replay = await one.earlier(session)  # the first sending may have finished meanwhile
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status)
    reported = _records(body, principal.organisation)
    intake.check_reporter([record for _, record in reported], principal.organisation_kind)
    now = utcnow()
    await intake.record(session, state.catalogue, state.keyring.current(), reported, now=now)
    payload = json.loads(EventsAccepted(accepted=len(reported)).model_dump_json())
    await one.remember(session, status=202, body=payload, now=now)
    await session.commit()
    return JSONResponse(payload, status_code=202)
