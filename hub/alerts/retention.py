"""Alert deliveries when the disclosure log is pruned (audit.prune, `hub audit prune`).

A delivery row holds what was disclosed and points at the log entry that records the
disclosure. When that entry passes its retention period and is pruned, the delivery goes with
it: what it carries is past retention too, and a feed row whose entry is gone could no longer
be served (nothing is disclosed without its entry). A delivery still waiting to be sent is
never dropped: the pruning is refused instead.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts.models import PENDING, AlertDelivery


class UndeliveredError(RuntimeError):
    """Deliveries recorded by entries about to be pruned have not been sent yet."""


async def forget_disclosed(session: AsyncSession, disclosure_ids: list[int]) -> int:
    """Delete the deliveries that these log entries record; how many. Raises
    `UndeliveredError` if any of them is still pending."""
    if not disclosure_ids:
        return 0
    recorded = AlertDelivery.disclosure_id.in_(disclosure_ids)
    waiting = await session.scalar(
        select(func.count())
        .select_from(AlertDelivery)
        .where(recorded, AlertDelivery.status == PENDING)
    )
    if waiting:
        raise UndeliveredError(
            f"{waiting} alert deliveries recorded in this range are still pending; "
            "prune once they are delivered or dead-lettered"
        )
    result = await session.execute(delete(AlertDelivery).where(recorded))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
