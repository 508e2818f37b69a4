"""Who takes part in the open cases of some persons: the lead and every co-manager a case was
shared with. Alerts use it for need to know (DOMAIN.md: agencies with an active enrolment,
case or consent for the person are told of a status change; hub.alerts.audience)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.cases.consequences import SETTLED
from hub.cases.models import Case, CaseShare
from hub.database import one_of


async def open_cases_of(
    session: AsyncSession, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[str, frozenset[str]]]]:
    """Per person: (case number, participating organisations) of each open case. Two
    queries whatever the number of persons."""
    if not person_ids:
        return {}
    cases = (
        await session.execute(
            select(Case.id, Case.person_id, Case.number, Case.lead).where(
                one_of(session, Case.person_id, list(person_ids)), Case.stage.not_in(SETTLED)
            )
        )
    ).all()
    if not cases:
        return {}
    shared: dict[uuid.UUID, set[str]] = defaultdict(set)
    rows = await session.execute(
        select(CaseShare.case_id, CaseShare.recipient).where(
            one_of(session, CaseShare.case_id, [c.id for c in cases])
        )
    )
    for case_id, recipient in rows.all():
        shared[case_id].add(recipient)
    found: dict[uuid.UUID, list[tuple[str, frozenset[str]]]] = defaultdict(list)
    for case_id, person_id, number, lead in cases:
        found[person_id].append((number, frozenset({lead, *shared[case_id]})))
    return dict(found)
