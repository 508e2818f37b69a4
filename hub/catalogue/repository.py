"""Programme queries and the catalogue upsert. Never commits (the request or job does)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalogue.models import Programme
from hub.database import insert_for
from hub.organisations.models import Organisation


async def upsert(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], key: str
) -> None:
    """Insert or update `rows` by primary key `key` (INSERT … ON CONFLICT DO UPDATE)."""
    if not rows:
        return
    statement = insert_for(session, table).values(list(rows))
    columns = {c: statement.excluded[c] for c in rows[0] if c != key}
    await session.execute(statement.on_conflict_do_update(index_elements=[key], set_=columns))


async def stored_hashes(session: AsyncSession) -> set[str]:
    query = select(Programme.catalogue_hash).where(Programme.in_catalogue).distinct()
    return set((await session.scalars(query)).all())


async def withdraw_missing(session: AsyncSession, codes: set[str]) -> None:
    """Programmes no longer in the catalogue stay (enrolments refer to them) but are hidden."""
    await session.execute(
        update(Programme).where(Programme.code.not_in(codes)).values(in_catalogue=False)
    )


async def list_programmes(
    session: AsyncSession, *, ministry: str | None = None, category: str | None = None
) -> list[Programme]:
    query = select(Programme).where(Programme.in_catalogue).order_by(Programme.code)
    if ministry:
        query = query.where(Programme.ministry_code == ministry)
    if category:
        query = query.where(Programme.category == category)
    return list((await session.scalars(query)).all())


async def get_programme(session: AsyncSession, code: str) -> Programme | None:
    return await session.get(Programme, code)


async def organisation_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Organisation.code))).all())
