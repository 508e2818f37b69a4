"""A changed enrolment revisits the findings it is part of (issue 6: "a new or changed
enrolment").

When a source re-sends an enrolment with another period or status (ended early, suspended,
corrected start), an open or confirmed finding that no longer holds under its rule is resolved
by the hub, with the reason in its append-only history; and a finding the hub resolved that way
is reopened, and announced again, when a later change makes the enrolments conflict once more.
A finding that an organisation dismissed or resolved is its decision and is left alone, and a
finding that still holds keeps the period it was found with (its history says what was found
when). Nothing is paid or stopped by this: a finding is information for the two organisations
(사회보장급여법 §20).

The check is the rules' own SELECT (hub.duplicates.ingested.current_pairs), restricted to the
changed enrolments, so "still holds" means exactly what finding it meant.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import one_of
from hub.duplicates import announce
from hub.duplicates.ingested import current_pairs
from hub.duplicates.models import DuplicateFinding, DuplicateResolution
from schemas.catalogue import Catalogue

HUB = "HUB"
"""The organisation and client named in the history when the hub itself moves a finding."""
LIVE = ("open", "confirmed")


async def _last_by_hub(session: AsyncSession, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Of the findings `ids`, those whose latest resolution the hub itself made."""
    if not ids:
        return set()
    rows = (
        await session.execute(
            select(
                DuplicateResolution.finding_id,
                DuplicateResolution.organisation,
                DuplicateResolution.recorded_at,
                DuplicateResolution.id,
            )
            .where(one_of(session, DuplicateResolution.finding_id, ids))
            .order_by(DuplicateResolution.recorded_at, DuplicateResolution.id)
        )
    ).all()
    latest: dict[uuid.UUID, str] = {}
    for finding_id, organisation, _, _ in rows:
        latest[finding_id] = organisation
    return {finding_id for finding_id, who in latest.items() if who == HUB}


async def _move(
    session: AsyncSession, finding: DuplicateFinding, status: str, reason: str, now: dt.datetime
) -> None:
    await session.execute(
        update(DuplicateFinding)
        .where(DuplicateFinding.id == finding.id)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    session.add(
        DuplicateResolution(
            finding_id=finding.id,
            status=status,
            reason=reason,
            organisation=HUB,
            client_id=HUB.lower(),
            actor=None,
            recorded_at=now,
        )
    )


async def revisit(
    session: AsyncSession,
    catalogue: Catalogue,
    changed: Mapping[uuid.UUID, str],
    *,
    source: str,
    now: dt.datetime,
) -> tuple[int, int]:
    """Resolve the findings of the `changed` enrolments (id → programme) that no longer hold,
    and reopen those the hub had resolved that hold again; (resolved, reopened)."""
    if not changed:
        return 0, 0
    ids = list(changed)
    findings = list(
        await session.scalars(
            select(DuplicateFinding).where(
                or_(
                    one_of(session, DuplicateFinding.enrolment_a, ids),
                    one_of(session, DuplicateFinding.enrolment_b, ids),
                )
            )
        )
    )
    if not findings:
        return 0, 0
    holding = await current_pairs(session, catalogue, changed)
    known_rules = {r.id for r in catalogue.duplicate_rules}
    hub_resolved = await _last_by_hub(session, [f.id for f in findings if f.status == "resolved"])
    resolved, reopened = 0, []
    for finding in findings:
        if finding.rule_id not in known_rules:  # a rule that left the catalogue: not judged
            continue
        holds = (finding.rule_id, finding.enrolment_a, finding.enrolment_b) in holding
        if finding.status in LIVE and not holds:
            reason = (
                f"Resolved by the hub: after a change reported by {source}, the enrolments "
                f"no longer conflict under {finding.rule_id}."
            )
            await _move(session, finding, "resolved", reason, now)
            resolved += 1
        elif finding.id in hub_resolved and holds:
            reason = (
                f"Reopened by the hub: after a change reported by {source}, the enrolments "
                f"conflict again under {finding.rule_id}."
            )
            await _move(session, finding, "open", reason, now)
            reopened.append(finding)
    await session.flush()
    if reopened:
        found = [
            announce.Found(
                f.id, f.rule_id, f.programme_a, f.programme_b, f.person_a, f.person_b, now
            )
            for f in reopened
        ]
        await announce.publish(session, found, now=now, occasion=f"reopened:{now.isoformat()}")
    return resolved, len(reopened)
