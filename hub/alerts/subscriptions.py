"""Subscriptions: an organisation chooses event types and how to receive them.

A subscription belongs to the organisation, not to one client: any of its clients holding
`alerts:subscribe` may read or delete it, and to any other organisation it does not exist (404,
never 403). A webhook subscription gets a signing secret, returned once at creation and stored
only sealed; its URL is checked against server-side request forgery (hub.alerts.targets).
Deleting keeps the row (deliveries and log entries refer to it) but stops everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts import queue, signing, targets
from hub.alerts.kinds import EVENT_TYPES
from hub.alerts.models import ACTIVE, DELETED, WEBHOOK, AlertDelivery, AlertSubscription
from hub.kit.errors import Conflict, InvalidInput, NotFound
from hub.kit.ids import new_token_id
from hub.vault import KeySet

MAX_PER_ORGANISATION = 20
"""Active subscriptions per organisation: each one multiplies the fan-out's work."""


@dataclass(frozen=True)
class Created:
    subscription: AlertSubscription
    secret: str | None
    """The signing secret, in the clear this once (webhook subscriptions only)."""


def _field_error(field: str, reason: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"field": field, "reason": reason}])


async def create(
    session: AsyncSession,
    keyset: KeySet,
    *,
    organisation: str,
    client_id: str,
    event_types: Sequence[str],
    url: str | None,
    allow_private: bool,
    now: dt.datetime,
) -> Created:
    """Subscribe `organisation` to `event_types`, by webhook to `url` or (None) by pulling."""
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise _field_error(
            "body.event_types", f"one of {', '.join(EVENT_TYPES)}", "Unknown event type."
        )
    active = await session.scalar(
        select(func.count())
        .select_from(AlertSubscription)
        .where(AlertSubscription.organisation == organisation, AlertSubscription.status == ACTIVE)
    )
    if (active or 0) >= MAX_PER_ORGANISATION:
        raise Conflict(
            f"Your organisation has {MAX_PER_ORGANISATION} active subscriptions; delete one first."
        )
    if url is not None:
        try:
            await targets.check(url, allow_private=allow_private)
        except targets.TargetRefused as exc:
            raise _field_error(
                "body.delivery.url", str(exc), "The webhook URL is refused."
            ) from None
    row = AlertSubscription(
        id=new_token_id("sub"),
        organisation=organisation,
        client_id=client_id,
        event_types=list(dict.fromkeys(event_types)),
        mode=WEBHOOK if url is not None else "pull",
        url=url,
        status=ACTIVE,
        last_seq=0,
        created_at=now,
        changed_at=now,
    )
    secret = None
    if url is not None:
        secret = signing.new_secret()
        sealed = signing.seal(keyset, row.id, secret)
        row.secret_kid, row.secret_sealed = sealed.kid, sealed.blob
    session.add(row)
    await session.flush()
    return Created(row, secret)


async def of_organisation(session: AsyncSession, organisation: str) -> list[AlertSubscription]:
    rows = await session.scalars(
        select(AlertSubscription)
        .where(AlertSubscription.organisation == organisation, AlertSubscription.status != DELETED)
        .order_by(AlertSubscription.created_at, AlertSubscription.id)
    )
    return list(rows)


async def get(session: AsyncSession, subscription_id: str, organisation: str) -> AlertSubscription:
    """The organisation's subscription, or not found (also when it belongs to another)."""
    row = await session.get(AlertSubscription, subscription_id)
    if row is None or row.organisation != organisation or row.status == DELETED:
        raise NotFound("No such subscription.")
    return row


async def delete(
    session: AsyncSession, subscription_id: str, organisation: str, now: dt.datetime
) -> None:
    row = await get(session, subscription_id, organisation)
    row.status, row.status_reason, row.changed_at = DELETED, "deleted by its organisation", now
    await session.flush()
    await queue.stop(session, row.id, "the subscription was deleted")


def secret_of(keyset: KeySet, row: AlertSubscription) -> str | None:
    """The subscription's secret in the clear (to sign, or to replay a creation whose answer
    the client never received)."""
    if row.secret_kid is None or row.secret_sealed is None:
        return None
    return signing.unseal(keyset, row.id, row.secret_kid, row.secret_sealed)


async def counts(session: AsyncSession, subscription_id: str) -> dict[str, int]:
    """Deliveries of the subscription by status."""
    rows = await session.execute(
        select(AlertDelivery.status, func.count())
        .where(AlertDelivery.subscription_id == subscription_id)
        .group_by(AlertDelivery.status)
    )
    return {status: int(n) for status, n in rows.all()}
