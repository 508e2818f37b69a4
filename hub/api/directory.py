"""The directory: which organisations use the hub (any client), and, for operators with the
`admin` scope, which clients exist (never their secrets)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.api.problems import problem_responses
from hub.auth import repository as clients
from hub.auth.dependencies import Caller, DbSession, Principal, require
from hub.auth.scopes import Scope
from hub.organisations import service as organisations
from schemas.organisation import OrganisationKind

router = APIRouter(prefix="/v1", tags=["directory"], responses=problem_responses(401, 403, 422))


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: str
    name_ko: str
    name_en: str
    parent: str | None = Field(validation_alias="parent_code")
    region_code: str | None


class OrganisationList(BaseModel):
    items: list[OrganisationOut]
    count: int


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: str
    organisation: str = Field(validation_alias="organisation_code")
    name: str
    auth_method: str
    scopes: list[str] = Field(validation_alias="scope_list")
    enabled: bool
    created_at: dt.datetime


class ClientList(BaseModel):
    items: list[ClientOut]
    count: int


@router.get("/organisations", response_model=OrganisationList)
async def list_organisations(
    _caller: Caller, session: DbSession, kind: OrganisationKind | None = None
) -> OrganisationList:
    """List the organisations registered with the hub."""
    rows = await organisations.list_all(session, kind.value if kind else None)
    items = [OrganisationOut.model_validate(o) for o in rows]
    return OrganisationList(items=items, count=len(items))


@router.get("/clients", response_model=ClientList)
async def list_clients(
    _admin: Annotated[Principal, require(Scope.ADMIN)],
    session: DbSession,
    organisation: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")] = None,
) -> ClientList:
    """List API clients and their scopes (operators only)."""
    rows = await clients.list_clients(session, organisation)
    items = [ClientOut.model_validate(c) for c in rows]
    return ClientList(items=items, count=len(items))
