"""The one record lookup oversight needs beyond finding a person by RRN."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.records.models import Enrolment


async def serves(session: AsyncSession, organisation: str, person_id: uuid.UUID) -> bool:
    """Whether `organisation` reported an enrolment of the person (in any status): until
    cases exist, that is what serving a person means."""
    query = select(
        exists().where(Enrolment.person_id == person_id, Enrolment.source_org == organisation)
    )
    return bool(await session.scalar(query))
