"""Queries over clients and the assertion replay store. Never commits (the request does)."""

from __future__ import annotations

import datetime as dt
import time
import weakref
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

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


STANDING_SECONDS = 2.0
"""How long a process may go on trusting that a client is enabled without asking again."""

_STANDING = (
    select(Client.enabled, Client.organisation_code, Organisation.kind)
    .join(Organisation, Organisation.code == Client.organisation_code)
    .where(Client.client_id == bindparam("client_id", type_=Client.client_id.type))
)
_trusted: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, str, str]]] = (
    weakref.WeakKeyDictionary()
)
"""Per database engine: client id → (trusted until, organisation, its kind)."""


async def client_standing(engine: AsyncEngine, client_id: str) -> tuple[bool, str, str] | None:
    """Whether the client is enabled, its organisation and the organisation's kind; None if
    unknown. Checked for every authenticated request, so that disabling a client (`hub
    clients disable`) ends its tokens' access before they expire (up to 10 minutes).

    The answer "enabled" is trusted for `STANDING_SECONDS` per process: the lookup was a
    round trip in every request, about a sixth of a verify's CPU (benchmarks/RESULTS.md). So a
    client disabled by another process (the CLI, another worker) loses access within 2
    seconds rather than on its very next request; in this process at once (`forget`). That is
    acceptable: disabling is an operator's reaction to a compromised or retired client, which
    takes far longer than that to notice, and each answer given in the meantime is logged
    with the client id. Only enabled standings are kept, so a client that is disabled or
    unknown is asked about again every time, and re-enabling takes effect at once.

    The lookup runs on a short connection of its own from `engine`, taken only when the
    answer is not trusted: a trusted answer costs no pool checkout."""
    trusted = _trusted.setdefault(engine, {})
    hit = trusted.get(client_id)
    if hit is not None and hit[0] > time.monotonic():
        return True, hit[1], hit[2]
    async with engine.connect() as connection:
        row = (await connection.execute(_STANDING, {"client_id": client_id})).first()
    if row is None or not row[0]:
        trusted.pop(client_id, None)
        return None if row is None else (False, str(row[1]), str(row[2]))
    if len(trusted) > 10_000:  # clients are registered by operators; a bound all the same
        trusted.clear()
    trusted[client_id] = (time.monotonic() + STANDING_SECONDS, str(row[1]), str(row[2]))
    return True, str(row[1]), str(row[2])


def forget(client_id: str) -> None:
    """Stop trusting the client's cached standing in this process (it was just changed)."""
    for trusted in list(_trusted.values()):
        trusted.pop(client_id, None)


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
