"""A scan: every duplicate rule over every enrolment, rule by rule, as set-based SQL.

Each rule is one INSERT … SELECT (hub.duplicates.sql, hub.duplicates.store): the database joins
all enrolments at once; nothing loops over people in Python. The household rules first share
one pass that pairs their programmes' enrolments with households (sql.HOUSEHOLDS). Rules go
one at a time so a caller can show progress per rule and each rule's plan reads only its own
programmes' index ranges. Findings are unique by (rule, pair), so a second scan adds only what
is new, and the scan record keeps the counts and the rule-set hash it ran under.

The scan runs inside the caller's transaction (the CLI job or the request commits): its
findings and its record appear together or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import dialect_of
from hub.duplicates import announce, store
from hub.duplicates.models import DuplicateScan
from hub.duplicates.rules import ResolvedRule, resolve
from hub.duplicates.sql import HOUSEHOLDS, matches
from hub.kit.clock import utcnow
from hub.kit.ids import new_uuid
from schemas.catalogue import Catalogue
from schemas.duplicate_rule import RuleScope


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What one rule did in a scan."""

    rule_id: str
    matched: int
    """Pairs the rule matched (found before or now)."""
    new_findings: int
    seconds: float


OnRule = Callable[[ResolvedRule, RuleOutcome | None], None]
"""Called before each rule (outcome None) and after it (with its outcome)."""


@dataclass(frozen=True, slots=True)
class ScanReport:
    scan: DuplicateScan
    rules: list[RuleOutcome]

    @property
    def seconds(self) -> float:
        finished = self.scan.finished_at or self.scan.started_at
        return (finished - self.scan.started_at).total_seconds()


async def scan(
    session: AsyncSession,
    catalogue: Catalogue,
    *,
    requested_by: str,
    on_rule: OnRule | None = None,
) -> ScanReport:
    """Run every rule of ``catalogue`` over all enrolments; store new findings as
    ``scan:<id>``. Rules apply to the days of their effective window, whatever today is, so a
    scan also finds conflicts of the past."""
    record = DuplicateScan(
        id=new_uuid(),
        rule_set_hash=catalogue.duplicate_rules_hash,
        requested_by=requested_by,
        started_at=utcnow(),
        status="running",
        matched=0,
        new_findings=0,
    )
    session.add(record)
    await session.flush()
    found_by = f"scan:{record.id}"
    outcomes: list[RuleOutcome] = []
    dialect = dialect_of(session)
    rules = resolve(catalogue)
    household_rules = [r for r in rules if r.rule.scope is RuleScope.HOUSEHOLD]
    if household_rules:
        programmes = frozenset().union(*(r.a | r.b for r in household_rules))
        await store.materialise_households(session, programmes)
    for resolved in rules:
        if on_rule is not None:
            on_rule(resolved, None)
        started = time.perf_counter()
        query = matches(dialect, resolved, households=HOUSEHOLDS)
        matched, new = await store.record_counted(
            session, query, found_by=found_by, now=record.started_at
        )
        outcome = RuleOutcome(resolved.rule.id, matched, new, time.perf_counter() - started)
        outcomes.append(outcome)
        if on_rule is not None:
            on_rule(resolved, outcome)
    await announce.publish_found_by(session, found_by, now=record.started_at)
    record.matched = sum(o.matched for o in outcomes)
    record.new_findings = sum(o.new_findings for o in outcomes)
    record.status = "completed"
    record.finished_at = utcnow()
    await session.flush()
    return ScanReport(record, outcomes)
