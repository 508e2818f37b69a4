"""Findings as the organisations they involve see them, and their resolution (issue 6).

Who sees a finding: the organisations it involves, i.e. the ministry or operator running either
programme and the organisation that reported either enrolment (a facility's own support
records: the households it serves). To anyone else a finding does not exist (404).

Showing a finding discloses personal data (that a person's or household's benefits conflict,
and the caller's pseudonym of the person), so every showing passes consent.policy: purpose
duplicate.prevention, categories duplicate.finding and identity.pseudonym, for the caller's own
programme (every finding shown involves the caller). Ministries, public agencies and local
governments pass on 사회보장기본법 §37 (statute:fass-duplicate-prevention). A welfare centre has
no statute: it sees a finding only when every person the finding concerns has an active
consent naming it for that purpose and those categories (decided per person with that
person's consents). A listing leaves the others out silently (a count would tell what the
consent protects); reading or resolving one is a logged 403. The log gets one entry per person
shown, with that person's basis, so a subject report lists every showing.

A resolution (confirmed, dismissed with a reason, resolved) appends a row to the finding's
history; the finding's `status` is the one column that ever changes, and only along
open → confirmed | dismissed | resolved and confirmed → resolved | dismissed. A finding is never
an automatic stop of payment: nothing here touches an enrolment. Under 사회보장급여법 §19-20
the paying agency investigates, decides any change or stop itself and notifies the recipient
in writing with its reasons; the hub only informs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from hub.consents.models import ConsentRow
from hub.consents.service import as_consent
from hub.disclosures.context import Context, record
from hub.duplicates.models import DuplicateFinding, DuplicateResolution
from hub.kit.cursor import decode_cursor, encode_cursor
from hub.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.vault import subject_ref
from schemas.consent import Consent
from schemas.disclosure import Decision

PURPOSE = "duplicate.prevention"
CATEGORIES = ("duplicate.finding", "identity.pseudonym")
FIELDS = (
    "id",
    "rule_id",
    "rule_hash",
    "programme_a",
    "programme_b",
    "overlap_start",
    "overlap_end",
    "status",
    "found_at",
    "found_by",
    "subject_refs",
)
STATUSES = ("open", "confirmed", "dismissed", "resolved")
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"confirmed", "dismissed", "resolved"}),
    "confirmed": frozenset({"resolved", "dismissed"}),
    "dismissed": frozenset(),
    "resolved": frozenset(),
}
MAX_LIMIT = 200


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    rule_id: str | None = None
    programme: str | None = None
    """On either side."""


@dataclass(frozen=True)
class Shown:
    """A finding as shown to the caller: its pseudonyms of the persons on its own side(s)."""

    finding: DuplicateFinding
    subject_refs: tuple[str, ...]
    history: tuple[DuplicateResolution, ...] = ()


@dataclass(frozen=True)
class Page:
    items: list[Shown]
    next_cursor: str | None


class _Caller:
    """What makes a finding the caller's: its programmes (as ministry or operator) and its own
    reported enrolments."""

    def __init__(self, ctx: Context) -> None:
        self.organisation = ctx.requester.organisation
        self.programmes = frozenset(p.code for p in ctx.catalogue.programmes_of(self.organisation))

    def clause(self) -> ColumnElement[bool]:
        f = DuplicateFinding
        return or_(
            f.programme_a.in_(self.programmes),
            f.programme_b.in_(self.programmes),
            f.source_a == self.organisation,
            f.source_b == self.organisation,
        )

    def side_a(self, f: DuplicateFinding) -> bool:
        return f.programme_a in self.programmes or f.source_a == self.organisation

    def side_b(self, f: DuplicateFinding) -> bool:
        return f.programme_b in self.programmes or f.source_b == self.organisation

    def involved(self, f: DuplicateFinding) -> bool:
        return self.side_a(f) or self.side_b(f)

    def own_persons(self, f: DuplicateFinding) -> list[uuid.UUID]:
        """Persons enrolled on the caller's side(s): the caller learns its own pseudonym of
        them, never one of a household member it does not serve."""
        persons = [f.person_a] if self.side_a(f) else []
        if self.side_b(f) and f.person_b not in persons:
            persons.append(f.person_b)
        return persons


def _persons(f: DuplicateFinding) -> set[uuid.UUID]:
    return {f.person_a, f.person_b}


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


async def bases(
    session: AsyncSession, ctx: Context, persons: set[uuid.UUID]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    """Per person: the basis to show findings about them, or why not (the policy's reasons).
    A statute that covers the caller covers everyone; otherwise each person's own consents."""
    decision = ctx.decide(purpose=PURPOSE, categories=CATEGORIES, own_programme=True)
    if decision.permitted and decision.basis is not None:
        return dict.fromkeys(persons, decision.basis), {}
    allowed: dict[uuid.UUID, str] = {}
    refused: dict[uuid.UUID, str] = {}
    consents = await _consents(session, persons)
    for person in persons:
        decision = ctx.decide(
            purpose=PURPOSE, categories=CATEGORIES, consents=consents[person], own_programme=True
        )
        if decision.permitted and decision.basis is not None:
            allowed[person] = decision.basis
        else:
            refused[person] = f"{decision.code.value if decision.code else 'no_basis'}: " + (
                " ".join(decision.reasons)
            )
    return allowed, refused


async def _log_shown(
    session: AsyncSession,
    ctx: Context,
    action: str,
    shown: list[Shown],
    allowed: dict[uuid.UUID, str],
) -> None:
    """One entry per person a shown finding concerns, on that person's basis."""
    count: dict[uuid.UUID, int] = defaultdict(int)
    for item in shown:
        for person in _persons(item.finding):
            count[person] += 1
    for person in sorted(count):
        await record(
            session,
            ctx.entry(
                action=action,
                purpose=PURPOSE,
                decision=Decision.PERMIT,
                reason=f"Showed {count[person]} duplicate finding(s) concerning the person.",
                basis=allowed[person],
                categories=CATEGORIES,
                fields=FIELDS,
                subject_ref=subject_of(ctx.keyset, person),
            ),
        )


def _shown(
    ctx: Context,
    caller: _Caller,
    f: DuplicateFinding,
    history: tuple[DuplicateResolution, ...] = (),
) -> Shown:
    refs = tuple(subject_ref(ctx.keyset, p, caller.organisation) for p in caller.own_persons(f))
    return Shown(f, refs, history)


async def list_findings(
    session: AsyncSession, ctx: Context, filters: Filters, *, cursor: str | None, limit: int
) -> Page:
    """The caller's findings, newest first (by found_at, then id). A page may hold fewer than
    `limit` items when some are left out for want of consent: follow `next_cursor` to null."""
    caller = _Caller(ctx)
    f = DuplicateFinding
    conditions: list[ColumnElement[bool]] = [caller.clause()]
    if filters.status is not None:
        conditions.append(f.status == filters.status)
    if filters.rule_id is not None:
        conditions.append(f.rule_id == filters.rule_id)
    if filters.programme is not None:
        conditions.append(
            or_(f.programme_a == filters.programme, f.programme_b == filters.programme)
        )
    if cursor is not None:
        at, last = decode_cursor(cursor)
        conditions.append(or_(f.found_at < at, and_(f.found_at == at, f.id < last)))
    rows = list(
        await session.scalars(
            select(f).where(*conditions).order_by(f.found_at.desc(), f.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    allowed, _ = await bases(session, ctx, {p for row in rows for p in _persons(row)})
    shown = [_shown(ctx, caller, row) for row in rows if _persons(row) <= allowed.keys()]
    await _log_shown(session, ctx, "duplicates.findings.list", shown, allowed)
    next_cursor = encode_cursor(rows[-1].found_at, rows[-1].id) if more else None
    return Page(shown, next_cursor)


async def _history(session: AsyncSession, finding_id: uuid.UUID) -> tuple[DuplicateResolution, ...]:
    rows = await session.scalars(
        select(DuplicateResolution)
        .where(DuplicateResolution.finding_id == finding_id)
        .order_by(DuplicateResolution.recorded_at, DuplicateResolution.id)
    )
    return tuple(rows)


async def _visible(
    session: AsyncSession, ctx: Context, caller: _Caller, finding_id: uuid.UUID, action: str
) -> tuple[DuplicateFinding, dict[uuid.UUID, str]]:
    """The finding if it involves the caller (else 404), with the basis per person; a caller
    it involves without a basis for everyone it concerns gets a logged 403."""
    finding = await session.get(DuplicateFinding, finding_id)
    if finding is None or not caller.involved(finding):
        raise NotFound("No duplicate finding with this id involves your organisation.")
    allowed, refused = await bases(session, ctx, _persons(finding))
    if refused:
        person, why = sorted(refused.items())[0]
        error = Forbidden(
            "No basis lets your organisation see this finding for duplicate.prevention.",
            denial=why.partition(":")[0],
        )
        raise ctx.refused(
            error,
            action=action,
            purpose=PURPOSE,
            subject_ref=subject_of(ctx.keyset, person),
            reason=why,
        )
    return finding, allowed


async def get_finding(session: AsyncSession, ctx: Context, finding_id: uuid.UUID) -> Shown:
    """One of the caller's findings with its resolution history."""
    action = "duplicates.findings.read"
    caller = _Caller(ctx)
    finding, allowed = await _visible(session, ctx, caller, finding_id, action)
    shown = _shown(ctx, caller, finding, await _history(session, finding.id))
    await _log_shown(session, ctx, action, [shown], allowed)
    return shown


async def resolve(
    session: AsyncSession, ctx: Context, finding_id: uuid.UUID, *, status: str, reason: str | None
) -> Shown:
    """Append a resolution and move the finding's status (the only update a finding takes).
    No enrolment changes: stopping or changing a payment is the paying agency's decision after
    notice to the recipient (사회보장급여법 §20), never the hub's."""
    action = "duplicates.findings.resolve"
    if status not in TRANSITIONS or status == "open":
        raise InvalidInput(
            "A resolution is confirmed, dismissed or resolved.",
            errors=[{"field": "body.status", "reason": "one of confirmed, dismissed, resolved"}],
        )
    if status == "dismissed" and not (reason and reason.strip()):
        raise InvalidInput(
            "Dismissing a finding needs a reason.",
            errors=[{"field": "body.reason", "reason": "required when status is dismissed"}],
        )
    caller = _Caller(ctx)
    finding, allowed = await _visible(session, ctx, caller, finding_id, action)
    before = finding.status
    if status not in TRANSITIONS.get(before, frozenset()):
        raise _transition_conflict(before, status)
    moved = await session.execute(
        update(DuplicateFinding)
        .where(DuplicateFinding.id == finding.id, DuplicateFinding.status == before)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The finding was resolved by another request meanwhile; read it again.")
    finding.status = status
    who = ctx.requester
    session.add(
        DuplicateResolution(
            finding_id=finding.id,
            status=status,
            reason=reason.strip() if reason else None,
            organisation=who.organisation,
            client_id=who.client_id,
            actor=who.actor,
            recorded_at=ctx.now,
        )
    )
    await session.flush()
    shown = _shown(ctx, caller, finding, await _history(session, finding.id))
    await _log_shown(session, ctx, action, [shown], allowed)
    return shown


def _transition_conflict(before: str, after: str) -> Conflict:
    if not TRANSITIONS.get(before):
        rule = f"a {before} finding is final"
    else:
        rule = f"a {before} finding may become only {' or '.join(sorted(TRANSITIONS[before]))}"
    return Conflict(
        f"Cannot move the finding from {before} to {after}: {rule} "
        "(open → confirmed | dismissed | resolved; confirmed → resolved | dismissed).",
        current_status=before,
    )
