"""The programme catalogue (복지알림이 content): what each programme gives, who qualifies, and
how and where to apply. Any authenticated client may read it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.api.problems import problem_responses
from hub.auth.dependencies import Caller, DbSession
from hub.catalogue import repository
from hub.kit.errors import NotFound
from schemas.programme import Programme

router = APIRouter(
    prefix="/v1/programmes", tags=["catalogue"], responses=problem_responses(401, 403, 422)
)

CODE = r"^[A-Z]{2,6}(-[A-Z0-9]+)+$"


class ProgrammeSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    ministry: str | None = Field(validation_alias="ministry_code")
    name_ko: str
    name_en: str
    category: str


class ProgrammeList(BaseModel):
    items: list[ProgrammeSummary]
    count: int


@router.get("", response_model=ProgrammeList)
async def list_programmes(
    _caller: Caller,
    session: DbSession,
    ministry: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")] = None,
    category: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_-]{1,31}$")] = None,
) -> ProgrammeList:
    """List catalogue programmes, optionally by ministry or category."""
    rows = await repository.list_programmes(session, ministry=ministry, category=category)
    items = [ProgrammeSummary.model_validate(r) for r in rows]
    return ProgrammeList(items=items, count=len(items))


@router.get("/{code}", response_model=Programme, responses=problem_responses(404))
async def get_programme(
    _caller: Caller, session: DbSession, code: Annotated[str, Path(pattern=CODE)]
) -> Programme:
    """One programme: content, eligibility requirements, how and where to apply."""
    row = await repository.get_programme(session, code)
    if row is None or not row.in_catalogue:
        raise NotFound(f"No programme with code {code} in the catalogue.")
    return Programme.model_validate(row.document)
