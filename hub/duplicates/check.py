"""The duplicate check at application (issue 6; DOMAIN.md scenario B): a ministry about to enrol
a person in its programme for a period learns which rules that would break, with whom and for
which days, and nothing else about the person.

사회보장기본법 §37 (statute:fass-duplicate-prevention) lets ministries, public agencies and local
governments learn of conflicts with their own programme; a welfare centre has no statute and
checks its private support only under the person's consent. The answer names, per conflict,
the rule, the conflicting programme and its ministry, the conflicting days and the legal
reference: no enrolment ids, amounts, statuses, sources or household members. Conflicting days
of one rule and programme are merged, so the answer does not tell how many enrolments (or
household members) lie behind them.

The check records a disclosure-log entry and creates no finding: findings come from ingestion
and scans (hub.duplicates.scan), which see both enrolments; an application is not yet one.
The order of work follows the eligibility service: input checks, the programme's ownership,
the policy decision, then the person's enrolments, so a caller without a basis learns nothing
from whether the hub knows the person.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.consents.service import for_decision
from hub.disclosures.context import Context, record
from hub.disclosures.subjects import Subject, find, invalid, refusing, runs
from hub.duplicates.overlap import overlap
from hub.duplicates.rules import Span, programmes_of, within_window
from hub.kit.errors import Forbidden
from hub.records.models import Enrolment, Person
from schemas.catalogue import Catalogue
from schemas.disclosure import Decision
from schemas.duplicate_rule import DuplicateRule, RuleScope
from schemas.identifiers import ResidentRegistrationNumber

ACTION = "duplicates.check"
PURPOSE = "duplicate.prevention"
CATEGORIES = ("duplicate.finding",)
FIELDS = (
    "rule_id",
    "rule_name",
    "conflicting_programme",
    "conflicting_ministry",
    "overlap_start",
    "overlap_end",
    "legal_reference",
    "rule_source",
)
SUSPENDED = "suspended"


def _refusing(ctx: Context, *, action: str) -> AbstractContextManager[None]:
    return refusing(ctx, action=action, purpose=PURPOSE)


# -- the pure part ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """An enrolment as the check sees it (never shown to the caller)."""

    person_id: uuid.UUID
    programme: str
    source: str
    start: dt.date
    end: dt.date | None


@dataclass(frozen=True)
class Conflict:
    rule_id: str
    rule_name: str
    conflicting_programme: str
    conflicting_ministry: str | None
    overlap_start: dt.date
    overlap_end: dt.date | None
    legal_reference: str
    rule_source: str


def applicable(
    catalogue: Catalogue, programme: str, start: dt.date, end: dt.date | None
) -> list[tuple[DuplicateRule, frozenset[str]]]:
    """Rules with the programme on a side and in force on some day of the period, each with
    the programmes of its other side(s)."""
    found = []
    for rule in catalogue.duplicate_rules:
        if within_window(rule, (start, end)) is None:
            continue
        a, b = programmes_of(catalogue, rule.a), programmes_of(catalogue, rule.b)
        others = (b if programme in a else frozenset()) | (a if programme in b else frozenset())
        if others:
            found.append((rule, others))
    return found


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or adjacent spans joined: the conflicting days, not the enrolments."""
    merged: list[Span] = []
    for start, end in sorted(spans, key=lambda s: (s[0], s[1] or dt.date.max)):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end + dt.timedelta(days=1):
                joined = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_start, joined)
                continue
        merged.append((start, end))
    return merged


def conflicts(
    catalogue: Catalogue,
    rules: Sequence[tuple[DuplicateRule, frozenset[str]]],
    *,
    person_id: uuid.UUID,
    caller: str,
    start: dt.date,
    end: dt.date | None,
    held: Iterable[Held],
) -> list[Conflict]:
    """The conflicts of a period with the enrolments held by the person (person rules) or by
    the household (household rules), suspended ones already left out. A distinct-sources rule
    counts only enrolments another organisation reported. Each conflict is clipped to the days
    its rule was in force."""
    held = list(held)
    spans: dict[tuple[int, str], list[Span]] = defaultdict(list)
    for index, (rule, others) in enumerate(rules):
        for e in held:
            if e.programme not in others:
                continue
            if rule.scope is RuleScope.PERSON and e.person_id != person_id:
                continue
            if rule.distinct_sources and e.source == caller:
                continue
            span = overlap(rule.overlap, start, end, e.start, e.end)
            clipped = within_window(rule, span) if span is not None else None
            if clipped is not None:
                spans[(index, e.programme)].append(clipped)
    found = []
    for (index, code), programme_spans in sorted(spans.items()):
        rule = rules[index][0]
        for first, last in _merged(programme_spans):
            found.append(
                Conflict(
                    rule_id=rule.id,
                    rule_name=rule.name_ko,
                    conflicting_programme=code,
                    conflicting_ministry=catalogue.programmes[code].ministry,
                    overlap_start=first,
                    overlap_end=last,
                    legal_reference=rule.legal_reference,
                    rule_source=rule.source.value,
                )
            )
    return found


# -- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    basis: str
    rules_hash: str
    conflicts: list[Conflict]


async def decide(session: AsyncSession, ctx: Context, subject: Subject | None) -> str:
    """The policy decision for the check: the basis, or `Refused` (logged). The caller is told
    the denial's kind, never which consents exist. A covering statute wins over any consent
    (consent.policy), so the person's consents are read only when no statute covers the caller
    (one query fewer for every ministry's check)."""
    decision = ctx.decide(purpose=PURPOSE, categories=CATEGORIES, own_programme=True)
    if not decision.permitted and subject is not None:
        consents = await for_decision(session, subject.person.id)
        decision = ctx.decide(
            purpose=PURPOSE, categories=CATEGORIES, consents=consents, own_programme=True
        )
    if decision.permitted and decision.basis is not None:
        return decision.basis
    error = Forbidden(
        f"No basis lets your organisation receive {', '.join(CATEGORIES)} for {PURPOSE}.",
        denial=decision.code.value if decision.code else "no_basis",
        refused=list(decision.refused),
    )
    raise ctx.refused(
        error,
        action=ACTION,
        purpose=PURPOSE,
        subject_ref=subject.log_ref if subject else None,
        reason=" ".join(decision.reasons),
    )


async def held_by(
    session: AsyncSession, person: Person, programmes: Iterable[str], *, household: bool
) -> list[Held]:
    """The unsuspended enrolments in `programmes` of the person, and of the household's other
    members when a household rule applies (one query)."""
    whose = select(Person.id).where(Person.id == person.id)
    if household and person.household_id is not None:
        whose = select(Person.id).where(
            or_(Person.id == person.id, Person.household_id == person.household_id)
        )
    rows = await session.execute(
        select(
            Enrolment.person_id,
            Enrolment.programme_code,
            Enrolment.source_org,
            Enrolment.period_start,
            Enrolment.period_end,
        ).where(
            Enrolment.person_id.in_(whose),
            Enrolment.programme_code.in_(sorted(set(programmes))),
            Enrolment.status != SUSPENDED,
        )
    )
    return [Held(*row) for row in rows]


async def check(
    session: AsyncSession,
    ctx: Context,
    *,
    rrn: ResidentRegistrationNumber,
    programme_code: str,
    period_start: dt.date,
    period_end: dt.date | None,
) -> Outcome:
    """The conflicts of enrolling the person in the caller's programme for the period. An
    unknown person has none (the same answer as a known person without conflicts)."""
    with _refusing(ctx, action=ACTION):
        programme = ctx.catalogue.programmes.get(programme_code)
        if programme is None:
            raise invalid(
                "body.programme",
                "not a catalogue programme",
                f"Unknown programme {programme_code}.",
            )
        if period_end is not None and period_end < period_start:
            raise invalid(
                "body.period_end", "before period_start", "The period ends before it starts."
            )
    who = ctx.requester
    if not runs(programme, who.organisation, who.kind):
        error = Forbidden(f"Programme {programme.code} is not run by your organisation.")
        raise ctx.refused(error, action=ACTION, purpose=PURPOSE)
    subject = await find(session, ctx, rrn)
    basis = await decide(session, ctx, subject)
    rules = applicable(ctx.catalogue, programme.code, period_start, period_end)
    found: list[Conflict] = []
    if subject is not None and rules:
        household = any(rule.scope is RuleScope.HOUSEHOLD for rule, _ in rules)
        others = {code for _, codes in rules for code in codes}
        held = await held_by(session, subject.person, others, household=household)
        found = conflicts(
            ctx.catalogue,
            rules,
            person_id=subject.person.id,
            caller=who.organisation,
            start=period_start,
            end=period_end,
            held=held,
        )
    await record(
        session,
        ctx.entry(
            action=ACTION,
            purpose=PURPOSE,
            decision=Decision.PERMIT,
            reason=(
                f"Checked {len(rules)} rule(s) for {programme.code}; "
                f"{len(found)} conflict(s) answered."
            ),
            basis=basis,
            categories=CATEGORIES,
            fields=FIELDS,
            subject_ref=subject.log_ref if subject else None,
        ),
    )
    return Outcome(basis, ctx.catalogue.duplicate_rules_hash, found)
