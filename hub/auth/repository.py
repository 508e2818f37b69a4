"""Queries over clients and the assertion replay store. Never commits (the request does)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.models import Client, UsedAssertion
from hub.organisations.models import Organisation


async def client_with_kind(session: AsyncSession, client_id: str) -> tuple[Client, str] | None:
    """The client and its organisation's kind, or None if unknown."""
    row = (
        await session.execute(
            select(Client, Organisation.kind)
            .join(Organisation, Organisation.code == Client.organisation_code)
            .where(Client.client_id == client_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def spend_assertion(
    session: AsyncSession, client_id: str, jti: str, expires_at: dt.datetime
) -> None:
    """Record a used `jti`; a replay violates the primary key (IntegrityError on flush)."""
    session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
    await session.flush()


async def forget_expired_assertions(session: AsyncSession, before: dt.datetime) -> None:
    """Drop spent assertions that have expired anyway: they can no longer be replayed."""
    await session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < before))


async def list_clients(session: AsyncSession, organisation: str | None = None) -> list[Client]:
    query = select(Client).order_by(Client.organisation_code, Client.client_id)
    if organisation:
        query = query.where(Client.organisation_code == organisation)
    return list((await session.scalars(query)).all())
