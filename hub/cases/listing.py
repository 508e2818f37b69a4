"""The caller's cases, a page at a time (GET /v1/cases; issue 8).

The caller's cases are those it leads or co-manages. Each is decided like a read (hub.cases.
access): a case whose person's consent no longer covers the caller is left out, and the
refusal is logged beside the permits, so the log shows every case the list weighed. A page may
therefore hold fewer than `limit` items; follow `next_cursor` to null.

`overdue` selects cases whose earliest unmet deadline (stored as `next_due_on` on every change,
hub.cases.stages) lies before today (KST).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from hub.cases.access import Access, shared_categories, widest
from hub.cases.models import Case, CaseShare
from hub.cases.views import shown, today, view
from hub.consents.models import ConsentRow
from hub.consents.service import as_consent
from hub.disclosures.context import Context, record
from hub.kit.cursor import decode_cursor, encode_cursor
from hub.vault import subject_ref
from schemas.case import CASE_CATEGORIES, PURPOSE, RECORD, CaseRecord, Stage
from schemas.consent import Consent
from schemas.disclosure import Decision

MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list[CaseRecord]
    next_cursor: str | None


async def _consents(
    session: AsyncSession, persons: set[uuid.UUID]
) -> dict[uuid.UUID, list[Consent]]:
    """Every consent of these persons, read afresh (a withdrawal counts on the next request)."""
    found: dict[uuid.UUID, list[Consent]] = defaultdict(list)
    if persons:
        rows = await session.scalars(select(ConsentRow).where(ConsentRow.person_id.in_(persons)))
        for row in rows:
            found[row.person_id].append(as_consent(row))
    return found


async def list_cases(
    session: AsyncSession,
    ctx: Context,
    *,
    overdue: bool | None,
    stage: Stage | None,
    cursor: str | None,
    limit: int,
) -> Page:
    """The caller's cases, newest first (by opened_at, then id)."""
    action = "case.list"
    organisation = ctx.requester.organisation
    shared = select(CaseShare.case_id).where(CaseShare.recipient == organisation)
    conditions: list[ColumnElement[bool]] = [or_(Case.lead == organisation, Case.id.in_(shared))]
    if overdue is not None:
        day = today(ctx)
        late = and_(Case.next_due_on.is_not(None), Case.next_due_on < day)
        conditions.append(late if overdue else ~late)
    if stage is not None:
        conditions.append(Case.stage == stage.value)
    if cursor is not None:
        at, last = decode_cursor(cursor)
        conditions.append(or_(Case.opened_at < at, and_(Case.opened_at == at, Case.id < last)))
    rows = list(
        await session.scalars(
            select(Case)
            .where(*conditions)
            .order_by(Case.opened_at.desc(), Case.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    shares = await shared_categories(
        session, [r.id for r in rows if r.lead != organisation], organisation
    )
    consents = await _consents(session, {r.person_id for r in rows})
    items: list[CaseRecord] = []
    for case in rows:
        allowed = frozenset(CASE_CATEGORIES) if case.lead == organisation else shares[case.id]
        categories = widest(allowed, frozenset({RECORD}), consents[case.person_id], ctx)
        decision = ctx.decide(
            purpose=PURPOSE, categories=categories, consents=consents[case.person_id]
        )
        log_ref = subject_of(ctx.keyset, case.person_id)
        if not decision.permitted or decision.basis is None:
            await record(
                session,
                ctx.entry(
                    action=action,
                    purpose=PURPOSE,
                    decision=Decision.DENY,
                    reason="Left out of the list: " + " ".join(decision.reasons),
                    subject_ref=log_ref,
                ),
            )
            continue
        access = Access(
            case=case,
            basis=decision.basis,
            categories=categories,
            log_ref=log_ref,
            ref=subject_ref(ctx.keyset, case.person_id, organisation),
            lead=case.lead == organisation,
        )
        await shown(session, ctx, access, action=action, reason="Listed the case")
        items.append(await view(session, ctx, access))
    next_cursor = encode_cursor(rows[-1].opened_at, rows[-1].id) if more else None
    return Page(items, next_cursor)
