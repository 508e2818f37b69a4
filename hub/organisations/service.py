"""Registering organisations (operators do this with `hub orgs add`; the demo and the
catalogue register the well-known ones)."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kit.errors import Conflict, InvalidInput, NotFound
from hub.organisations.models import Organisation
from schemas.organisation import Organisation as OrganisationRecord


async def add(session: AsyncSession, **fields: str | None) -> Organisation:
    """Validate through the canonical model, then insert; an existing code is a conflict."""
    try:
        record = OrganisationRecord.model_validate(
            {k: v for k, v in fields.items() if v is not None}
        )
    except ValidationError as exc:
        errors = [{"field": ".".join(map(str, e["loc"])), "reason": e["msg"]} for e in exc.errors()]
        raise InvalidInput("The organisation is not valid.", errors=errors) from exc
    if await session.get(Organisation, record.code) is not None:
        raise Conflict(f"An organisation {record.code} exists already.")
    if record.parent and await session.get(Organisation, record.parent) is None:
        raise NotFound(f"No parent organisation {record.parent}.")
    row = Organisation(
        code=record.code,
        kind=record.kind.value,
        name_ko=record.name_ko,
        name_en=record.name_en,
        parent_code=record.parent,
        region_code=record.region_code,
    )
    session.add(row)
    await session.flush()
    return row


async def list_all(session: AsyncSession, kind: str | None = None) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.kind, Organisation.code)
    if kind:
        query = query.where(Organisation.kind == kind)
    return list((await session.scalars(query)).all())
