"""Fan-out: one delivery row per entitled subscription, in the transaction of the change.

For each event, each active subscription to its type whose organisation needs to know
(hub.alerts.audience) and has a basis gets one delivery row, with its disclosure-log entry
(action `alerts.deliver`), in the caller's transaction: the change, its event, the deliveries
and their entries commit together or not at all (a transactional outbox). An organisation that
needs to know but has no basis gets a refusal entry and nothing else.

Feed positions (`seq`) are gap-free and appear in order. They are taken by raising the
subscription's `last_seq` in this transaction, which locks that row until the transaction
ends: a second fan-out to the same subscription waits, so positions are handed out in commit
order, and a transaction that rolls back takes its increment with it. A reader therefore never
sees position n+1 before n, nor a position that will never exist. On PostgreSQL every fan-out
also takes one transaction-level advisory lock first, so the rows are always locked in the
same order (no deadlocks between fan-outs); on SQLite the single writer does the same.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from audit.models import AuditPending, DisclosureEntry
from hub.alerts import audience
from hub.alerts.kinds import CONSENT_WITHDRAWN, KINDS, civil_date, passed_on
from hub.alerts.models import ACTIVE, FEED, PENDING, PULL, AlertDelivery, AlertSubscription
from hub.database import bulk_insert, dialect_of
from hub.disclosures.context import Context, Requester
from hub.kit.ids import new_random_uuids
from hub.organisations.models import Organisation
from hub.vault import KeySet, subject_ref
from schemas.catalogue import Catalogue
from schemas.disclosure import Decision, Disclosure

CASE_MANAGEMENT = "case.management"
LOCK = 0x616C_6572_7473  # "alerts": serialises fan-outs on PostgreSQL
ACTION = "alerts.deliver"


@dataclass(frozen=True)
class Occurrence:
    """An event to fan out (a row of `events`, committed or in this transaction)."""

    id: uuid.UUID
    type: str
    person_id: uuid.UUID
    occurred_at: dt.datetime
    source_org: str
    details: dict[str, str]


@dataclass(frozen=True)
class Subscriber:
    id: str
    organisation: str
    kind: str
    client_id: str
    mode: str


async def lock(session: AsyncSession, *, wait: bool = True) -> bool:
    """Take the fan-out lock for this transaction (PostgreSQL); False if `wait` is off and
    another transaction holds it."""
    if dialect_of(session) != "postgresql":
        return True
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})
        return True
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK}))


async def _subscribers(session: AsyncSession, types: set[str]) -> dict[str, list[Subscriber]]:
    """Active subscriptions per event type among `types`."""
    rows = (
        await session.execute(
            select(
                AlertSubscription.id,
                AlertSubscription.organisation,
                Organisation.kind,
                AlertSubscription.client_id,
                AlertSubscription.mode,
                AlertSubscription.event_types,
            )
            .join(Organisation, Organisation.code == AlertSubscription.organisation)
            .where(AlertSubscription.status == ACTIVE)
            .order_by(AlertSubscription.id)
        )
    ).all()
    by_type: dict[str, list[Subscriber]] = defaultdict(list)
    for sub_id, organisation, kind, client_id, mode, event_types in rows:
        for event_type in set(event_types) & types:
            by_type[event_type].append(Subscriber(sub_id, organisation, kind, client_id, mode))
    return by_type


@dataclass
class _Grant:
    delivery_id: uuid.UUID
    subscriber: Subscriber
    event: Occurrence
    entry: Disclosure
    data: dict[str, Any] | None
    """None for a refusal (an entry, no delivery)."""


class _Judge:
    """Decides each (event, subscriber) pair; statute decisions that depend on no consent
    are the same for every person and are computed once per organisation and type."""

    def __init__(self, catalogue: Catalogue, keyset: KeySet, now: dt.datetime) -> None:
        self.catalogue, self.keyset, self.now = catalogue, keyset, now
        self.cache: dict[tuple[str, str, bool], tuple[str | None, str]] = {}
        """(organisation, type, serves) → (basis or None, the policy's reasons)."""

    def context(self, subscriber: Subscriber, delivery_id: uuid.UUID) -> Context:
        requester = Requester(
            organisation=subscriber.organisation,
            kind=subscriber.kind,
            client_id=subscriber.client_id,
            actor=None,
            scopes=frozenset(),
            request_id=str(delivery_id),
        )
        return Context(requester, self.catalogue, self.keyset, self.now)

    def basis(
        self, ctx: Context, event: Occurrence, why: audience.Relation
    ) -> tuple[str | None, str]:
        """The basis (None when refused) and the reason to log."""
        kind = KINDS[event.type]
        if event.type == CONSENT_WITHDRAWN:
            consent = why.consents[0]
            return (
                f"consent:{consent.id}",
                f"Withdrawal of consent {consent.id} told to a recipient it names.",
            )
        key = (ctx.requester.organisation, event.type, bool(why.served), bool(why.cases))
        decided = self.cache.get(key) if not why.consents else None
        if decided is None:
            decision = ctx.decide(
                purpose=purpose_of(event, why),
                categories=kind.categories,
                consents=why.consents,
                own_programme=bool(why.served),
            )
            decided = (decision.basis, " ".join(decision.reasons))
            if not why.consents:
                self.cache[key] = decided
        basis, refusal = decided
        if basis is None:
            return None, refusal
        if why.served:
            programmes = ", ".join(sorted({s.programme for s in why.served}))
            return basis, f"Alert {event.type}: serves the person in {programmes}."
        if why.cases:
            return basis, f"Alert {event.type}: takes part in case {', '.join(why.cases)}."
        return basis, f"Alert {event.type}: named as a recipient in the person's consent."


def purpose_of(event: Occurrence, why: audience.Relation) -> str:
    """The purpose a delivery serves: the type's own (status notification) for an organisation
    that serves the person through a programme or is named in a consent; case management for
    one told only because it takes part in the person's case (사회보장급여법 §42의2: a 시군구
    may learn statuses for its case; a private centre needs the person's consent)."""
    if why.cases and not why.served and event.type != CONSENT_WITHDRAWN:
        return CASE_MANAGEMENT
    return KINDS[event.type].purpose


def _data(
    keyset: KeySet, subscriber: Subscriber, event: Occurrence, why: audience.Relation
) -> dict[str, Any]:
    """What the subscriber is told: its own pseudonym of the person, the effective date, the
    type's non-identifying details and its own enrolments the change affects; never an RRN
    or a name."""
    data: dict[str, Any] = {
        "subject_ref": subject_ref(keyset, event.person_id, subscriber.organisation)
    }
    if event.type == CONSENT_WITHDRAWN:
        data["withdrawn_at"] = event.occurred_at.isoformat()
    else:
        data["effective_date"] = civil_date(event.occurred_at).isoformat()
    data |= passed_on(event.type, event.details)
    own = [s for s in why.served if s.source_org == subscriber.organisation]
    if own:
        data["enrolments"] = [
            {"programme": s.programme, "source_record_id": s.source_record_id} for s in own
        ]
    if why.cases and event.type != CONSENT_WITHDRAWN:
        data["cases"] = [{"number": number} for number in why.cases]
    return data


def _judge_all(
    judge: _Judge,
    people: audience.People,
    events: Sequence[Occurrence],
    subscribers: dict[str, list[Subscriber]],
) -> list[_Grant]:
    grants: list[_Grant] = []
    pairs = [(e, s) for e in events for s in subscribers.get(e.type, [])]
    for (event, subscriber), delivery_id in zip(pairs, new_random_uuids(len(pairs)), strict=True):
        why = audience.relation(
            judge.catalogue,
            people,
            event_type=event.type,
            person_id=event.person_id,
            occurred_at=event.occurred_at,
            details=event.details,
            organisation=subscriber.organisation,
        )
        if why is None:
            continue
        ctx = judge.context(subscriber, delivery_id)
        basis, reason = judge.basis(ctx, event, why)
        kind = KINDS[event.type]
        log_ref = subject_of(judge.keyset, event.person_id)
        if basis is None:
            entry = ctx.entry(
                action=ACTION,
                purpose=purpose_of(event, why),
                decision=Decision.DENY,
                reason=reason,
                subject_ref=log_ref,
            )
            grants.append(_Grant(delivery_id, subscriber, event, entry, None))
            continue
        data = _data(judge.keyset, subscriber, event, why)
        entry = ctx.entry(
            action=ACTION,
            purpose=purpose_of(event, why),
            decision=Decision.PERMIT,
            reason=reason,
            basis=basis,
            categories=kind.categories,
            fields=sorted(data),
            subject_ref=log_ref,
        )
        grants.append(_Grant(delivery_id, subscriber, event, entry, data))
    return grants


async def _positions(session: AsyncSession, counts: dict[str, int]) -> dict[str, int]:
    """Raise each subscription's `last_seq` by its count (locking the row until commit, in
    id order); the first new position of each."""
    first: dict[str, int] = {}
    for sub_id in sorted(counts):
        last = await session.scalar(
            update(AlertSubscription)
            .where(AlertSubscription.id == sub_id)
            .values(last_seq=AlertSubscription.last_seq + counts[sub_id])
            .returning(AlertSubscription.last_seq)
        )
        assert last is not None
        first[sub_id] = last - counts[sub_id] + 1
    return first


async def _record_entries(session: AsyncSession, entries: list[Disclosure]) -> list[int]:
    """Insert the entries and queue them for the sequencer (audit.log.record, in bulk)."""
    rows = [
        {
            "recorded_at": e.recorded_at,
            "action": e.action,
            "organisation": e.organisation,
            "client_id": e.client_id,
            "actor": e.actor,
            "subject_ref": e.subject_ref,
            "purpose": e.purpose,
            "basis": e.basis,
            "data_categories": list(e.data_categories),
            "fields": list(e.fields),
            "decision": e.decision.value,
            "reason": e.reason,
            "request_id": e.request_id,
            "rule_set_hash": e.rule_set_hash,
        }
        for e in entries
    ]
    table = DisclosureEntry.__table__
    if dialect_of(session) == "postgresql":
        # Ids first, then one COPY: far cheaper than an INSERT … RETURNING of thousands.
        ids = [
            int(i)
            for i in await session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('disclosure_entries', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": len(rows)},
            )
        ]
        await bulk_insert(session, table, [{"id": i} | r for i, r in zip(ids, rows, strict=True)])
    else:
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        ids = [int(i) for i in result.scalars().all()]
    await bulk_insert(session, AuditPending.__table__, [{"entry_id": i} for i in ids])
    return ids


async def fan_out(
    session: AsyncSession,
    catalogue: Catalogue,
    keyset: KeySet,
    events: Sequence[Occurrence],
    now: dt.datetime,
) -> int:
    """Write the deliveries of `events` in the session's transaction; how many."""
    if not events:
        return 0
    if not await _subscribers(session, {e.type for e in events}):
        return 0
    await lock(session)
    subscribers = await _subscribers(session, {e.type for e in events})  # as of the lock
    people = await audience.People.load(
        session,
        (e.person_id for e in events),
        (e.details.get("consent_id", "") for e in events if e.type == CONSENT_WITHDRAWN),
    )
    grants = _judge_all(_Judge(catalogue, keyset, now), people, events, subscribers)
    if not grants:
        return 0
    entry_ids = await _record_entries(session, [g.entry for g in grants])
    delivered = [(g, i) for g, i in zip(grants, entry_ids, strict=True) if g.data is not None]
    counts: dict[str, int] = defaultdict(int)
    for grant, _ in delivered:
        counts[grant.subscriber.id] += 1
    next_seq = await _positions(session, counts)
    rows = []
    for grant, entry_id in delivered:
        sub = grant.subscriber
        seq, next_seq[sub.id] = next_seq[sub.id], next_seq[sub.id] + 1
        webhook = sub.mode != PULL
        rows.append(
            {
                "id": grant.delivery_id,
                "subscription_id": sub.id,
                "event_id": grant.event.id,
                "seq": seq,
                "type": grant.event.type,
                "occurred_at": grant.event.occurred_at,
                "source_org": grant.event.source_org,
                "data": grant.data,
                "disclosure_id": entry_id,
                "status": PENDING if webhook else FEED,
                "attempts": 0,
                "next_attempt_at": now if webhook else None,
                "created_at": now,
            }
        )
    await bulk_insert(session, AlertDelivery.__table__, rows)
    return len(rows)
