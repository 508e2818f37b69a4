"""Reading back ingestion batches and their rejected rows."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.ingest.models import IngestBatch, IngestRejection


async def get_batch(session: AsyncSession, batch_id: uuid.UUID) -> IngestBatch | None:
    return await session.get(IngestBatch, batch_id)


async def rejections(
    session: AsyncSession, batch_id: uuid.UUID, *, after_row: int = 0, limit: int = 100
) -> list[IngestRejection]:
    """Rejected rows in row order, a page at a time (`after_row` is the cursor)."""
    query = (
        select(IngestRejection)
        .where(IngestRejection.batch_id == batch_id, IngestRejection.row > after_row)
        .order_by(IngestRejection.row)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
