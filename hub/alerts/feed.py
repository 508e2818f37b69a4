"""The pull feed: a subscription's deliveries in feed order, from a position on.

Reading marks nothing, so the same request gives the same answer and a reader that lost a
page simply asks again (idempotent reads). Positions are gap-free and committed in order
(hub.alerts.fanout), so a reader that has seen everything up to n asks for `after=n` and can
never miss an alert; webhook subscribers may read their feed too, to fill gaps.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts.envelope import Alert
from hub.alerts.models import AlertDelivery

MAX_PAGE = 1000


async def page(
    session: AsyncSession, subscription_id: str, *, after: int, limit: int
) -> list[Alert]:
    rows = await session.scalars(
        select(AlertDelivery)
        .where(AlertDelivery.subscription_id == subscription_id, AlertDelivery.seq > after)
        .order_by(AlertDelivery.seq)
        .limit(min(limit, MAX_PAGE))
    )
    return [Alert(d.id, d.seq, d.type, d.occurred_at, d.source_org, d.data) for d in rows]
