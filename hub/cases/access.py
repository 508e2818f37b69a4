"""Who may see or change a case, and on what basis (issue 8).

A participant is the lead organisation (the one that opened the case) or a co-manager the
case was shared with. Being a participant is necessary, never sufficient: every call also
passes `consent.policy.decide` for purpose case.management with the person's consents, read
afresh for each request, so a withdrawal or an expiry removes access on the very next one
(PIPA §37). That holds for the lead too: no statute releases a case record (legal_bases.yaml),
so the consent collected at intake (개인정보 수집·이용 및 제3자 제공 동의서, DOMAIN.md) is what
lets the hub hold and show it, and that consent must name the lead among its recipients.

What a call touches decides the categories asked for: case.record always, case.needs for the
assessment, a sensitive category for notes marked with it (PIPA §23: only on a consent naming
it). A co-manager sees at most the categories its share names. A read may name the categories
wanted; by default it gets the most that one consent covers (the log records one basis per
disclosure, consent.policy).

Refusals never say more than needed: to a non-participant a case does not exist (404, so
nothing is confirmed); a participant without a covering consent gets a 403 naming the
categories. Both are logged (hub.api.disclosing.refusals_logged).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from hub.cases.models import Case, CaseShare
from hub.consents.service import for_decision
from hub.disclosures.context import Context, Refused
from hub.kit.errors import Forbidden, NotFound
from hub.vault import subject_ref
from schemas.case import CASE_CATEGORIES, PURPOSE, RECORD
from schemas.consent import Consent, ConsentState


def ordered(categories: Iterable[str]) -> tuple[str, ...]:
    """Categories in the catalogue's order for cases (record, needs, sensitive)."""
    wanted = set(categories)
    return tuple(c for c in CASE_CATEGORIES if c in wanted)


@dataclass(frozen=True)
class Access:
    """A call a participant may make: the case, the basis, and the categories decided."""

    case: Case
    basis: str
    categories: tuple[str, ...]
    log_ref: str
    """The person in the log's pseudonym space."""
    ref: str
    """The caller's pseudonym of the person."""
    lead: bool


async def shared_categories(
    session: AsyncSession, case_ids: Collection[uuid.UUID], organisation: str
) -> dict[uuid.UUID, frozenset[str]]:
    """Per case, the categories of the latest share to `organisation`."""
    if not case_ids:
        return {}
    rows = await session.scalars(
        select(CaseShare)
        .where(CaseShare.case_id.in_(case_ids), CaseShare.recipient == organisation)
        .order_by(CaseShare.recorded_at, CaseShare.id)
    )
    return {row.case_id: frozenset(row.data_categories) for row in rows}


async def candidates(session: AsyncSession, case: Case, organisation: str) -> frozenset[str] | None:
    """What a participant may at most ask for; None for a non-participant."""
    if case.lead == organisation:
        return frozenset(CASE_CATEGORIES)
    return (await shared_categories(session, [case.id], organisation)).get(case.id)


def widest(
    candidates: frozenset[str],
    required: frozenset[str],
    consents: Iterable[Consent],
    ctx: Context,
) -> tuple[str, ...]:
    """The most categories one active consent naming the caller for case management covers,
    among `candidates` and including `required`; `required` alone if none does (the decision
    then says why it is refused)."""
    best: frozenset[str] = frozenset()
    organisation = ctx.requester.organisation
    for consent in sorted(consents, key=lambda c: c.id):
        if (
            consent.state(ctx.now) is ConsentState.ACTIVE
            and organisation in consent.recipients
            and PURPOSE in consent.purposes
        ):
            covered = candidates & frozenset(consent.data_categories)
            if required <= covered and len(covered) > len(best):
                best = covered
    return ordered(best or required)


def not_found(ctx: Context, action: str, case: Case | None) -> Refused:
    """A case the caller does not take part in does not exist for it (and the attempt is
    logged against the person, so their subject report shows it)."""
    return ctx.refused(
        NotFound("No case with this id is shared with your organisation."),
        action=action,
        purpose=PURPOSE,
        subject_ref=subject_of(ctx.keyset, case.person_id) if case else None,
        reason="not a participant of the case" if case else "no such case",
    )


def forbidden(
    ctx: Context, action: str, case: Case, detail: str, *, denial: str, refused: Iterable[str]
) -> Refused:
    return ctx.refused(
        Forbidden(detail, denial=denial, refused=list(refused)),
        action=action,
        purpose=PURPOSE,
        subject_ref=subject_of(ctx.keyset, case.person_id),
    )


async def authorise(
    session: AsyncSession,
    ctx: Context,
    case_id: uuid.UUID,
    *,
    action: str,
    required: Iterable[str] = (RECORD,),
    wanted: Iterable[str] | None = None,
    lead_only: bool = False,
    for_update: bool = False,
) -> Access:
    """The participant's access to the case for this call, or a `Refused` to log and answer."""
    case = await session.get(Case, case_id, with_for_update=for_update)
    organisation = ctx.requester.organisation
    allowed = await candidates(session, case, organisation) if case is not None else None
    if case is None or allowed is None:
        raise not_found(ctx, action, case)
    need = frozenset(required) | {RECORD}
    asked = need | frozenset(wanted or ())
    outside = ordered(asked - allowed)
    if outside:
        raise forbidden(
            ctx,
            action,
            case,
            f"The case is not shared with your organisation for {', '.join(outside)}.",
            denial="not_shared",
            refused=outside,
        )
    if lead_only and case.lead != organisation:
        raise forbidden(
            ctx,
            action,
            case,
            "Only the lead organisation moves, classifies, plans or closes the case.",
            denial="not_lead",
            refused=(),
        )
    consents = await for_decision(session, case.person_id)
    categories = ordered(asked) if wanted is not None else widest(allowed, need, consents, ctx)
    decision = ctx.decide(purpose=PURPOSE, categories=categories, consents=consents)
    if not decision.permitted or decision.basis is None:
        refused = ordered(decision.refused) or categories
        raise ctx.refused(
            Forbidden(
                f"No consent lets your organisation receive {', '.join(refused)} for {PURPOSE}.",
                denial=decision.code.value if decision.code else "no_basis",
                refused=list(refused),
            ),
            action=action,
            purpose=PURPOSE,
            subject_ref=subject_of(ctx.keyset, case.person_id),
            reason=" ".join(decision.reasons),
        )
    return Access(
        case=case,
        basis=decision.basis,
        categories=categories,
        log_ref=subject_of(ctx.keyset, case.person_id),
        ref=subject_ref(ctx.keyset, case.person_id, organisation),
        lead=case.lead == organisation,
    )
