"""What every disclosing endpoint shares: the request's context, refusals logged in their own
transaction, release only after the log entry commits (DESIGN.md, house rules), and the
subject of a request, which travels only in the body (never in a URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from audit import log as audit_log
from hub.auth.dependencies import Principal
from hub.database import Executor
from hub.disclosures.context import Context, Refused, Requester, log_unavailable
from hub.kit.clock import utcnow
from schemas.identifiers import InvalidRRN, parse_rrn


def context(request: Request, principal: Principal) -> Context:
    state = request.app.state
    requester = Requester(
        organisation=principal.organisation,
        kind=principal.organisation_kind,
        client_id=principal.client_id,
        actor=principal.actor,
        scopes=principal.scopes,
        request_id=getattr(request.state, "request_id", None),
    )
    return Context(requester, state.catalogue, state.keyring.current(), utcnow())


@asynccontextmanager
async def refusals_logged(request: Request) -> AsyncIterator[None]:
    """Write a refusal's entry in a short transaction of its own, then answer the refusal."""
    try:
        yield
    except Refused as refused:
        try:
            async with request.app.state.db.transaction() as session:
                await audit_log.record(session, refused.entry)
        except SQLAlchemyError as exc:
            raise log_unavailable(exc) from exc
        raise refused.error from None


async def release(unit: Executor) -> None:
    """Commit the request's log entry; only then may the answer be built (DESIGN.md)."""
    try:
        await unit.commit()
    except SQLAlchemyError as exc:
        raise log_unavailable(exc) from exc


def _valid_rrn(value: str) -> str:
    try:
        parse_rrn(value)
    except InvalidRRN as exc:  # the message names the problem, never the digits
        raise ValueError(str(exc)) from None
    return value


class SubjectIn(BaseModel):
    """The person, sent in the body only (never in a URL)."""

    model_config = ConfigDict(extra="forbid")

    rrn: Annotated[str, Field(max_length=20), AfterValidator(_valid_rrn)]
