"""The rule SELECT (hub.duplicates.sql) agrees with the pure oracle (hub.duplicates.overlap and
rules.within_window) on both databases, over seeded random enrolments and random rules of
every kind: any_day, same_month, within_days N; person and household scope (household rules
both as the ingestion hook runs them and over a scan's materialised households); distinct
sources; same-kind and partly shared sides; effective windows; suspended and open-ended
enrolments.

Each run uses programme codes of its own, so other tests' rows in the shared database never
enter the join.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert

from hub.database import Database
from hub.duplicates.overlap import overlap
from hub.duplicates.rules import ResolvedRule, rule_hash, within_window
from hub.duplicates.sql import HOUSEHOLDS, matches
from hub.duplicates.store import materialise_households
from hub.kit.clock import utcnow
from hub.records.models import Enrolment, Person
from schemas.duplicate_rule import DuplicateRule

SEED = 20120801
PERSONS = 120
ENROLMENTS = 700
RULES = 60
BASE = dt.date(2023, 11, 1)


@dataclass(frozen=True)
class Row:
    id: uuid.UUID
    person: uuid.UUID
    household: str | None
    programme: str
    source: str
    start: dt.date
    end: dt.date | None
    status: str


def _population(rng: random.Random, codes: list[str]) -> tuple[list[dict], list[Row]]:
    households = [f"HH-{secrets.token_hex(6)}" for _ in range(PERSONS // 3)]
    persons = []
    for _ in range(PERSONS):
        household = rng.choice(households) if rng.random() < 0.85 else None
        persons.append((uuid.uuid4(), household))
    rows = []
    for number in range(ENROLMENTS):
        person, household = rng.choice(persons)
        start = BASE + dt.timedelta(days=rng.randrange(0, 200))
        shape = rng.random()
        if shape < 0.15:
            end = None
        elif shape < 0.35:
            end = start  # a single support act
        else:
            end = start + dt.timedelta(days=rng.randrange(0, 90))
        rows.append(
            Row(
                id=uuid.uuid4(),
                person=person,
                household=household,
                programme=rng.choice(codes),
                source=rng.choice(["WC-NOWON", "WC-NOWON-2", "MOHW"]),
                start=start,
                end=end,
                status=rng.choices(["active", "ended", "suspended"], [6, 3, 1])[0],
            )
        )
        del number
    now = utcnow()
    person_rows = [
        {
            "id": pid,
            "rrn_kid": "k",
            "rrn_sealed": secrets.token_bytes(8),
            "rrn_index_kid": "k",
            "rrn_index": secrets.token_bytes(32),
            "name": "시험",
            "birth_date": dt.date(1970, 1, 1),
            "sex": "female",
            "household_id": household,
            "civil_status": "alive",
            "created_at": now,
            "updated_at": now,
        }
        for pid, household in persons
    ]
    return person_rows, rows


def _rule(rng: random.Random, number: int, codes: list[str]) -> ResolvedRule:
    kind = rng.choice(["any_day", "same_month", "within_days"])
    overlap_spec: dict = {"kind": kind}
    if kind == "within_days":
        overlap_spec["days"] = rng.choice([1, 7, 30, 45])
    shape = rng.random()
    if shape < 0.3:  # same kind, two facilities (the Nowon case)
        a = b = frozenset({rng.choice(codes)})
    elif shape < 0.45:  # partly shared sides, as category sides can be
        a, b = frozenset(codes[:2]), frozenset(codes[1:])
    else:
        first, second = rng.sample(codes, 2)
        a, b = frozenset({first}), frozenset({second})
    same = a == b
    start = rng.choice([dt.date(2012, 8, 1), dt.date(2024, 1, 15), dt.date(2024, 3, 1)])
    until = rng.choice([None, None, start + dt.timedelta(days=rng.randrange(10, 120))])
    rule = DuplicateRule.model_validate(
        {
            "id": f"DUP-{number:03d}",
            "name_ko": "시험 규칙",
            "a": {"programme": sorted(a)[0]},
            "b": {"programme": sorted(b)[-1] if not same else sorted(b)[0]},
            "scope": rng.choice(["person", "household"]),
            "overlap": overlap_spec,
            "distinct_sources": same or rng.random() < 0.3,
            "effective_from": start,
            "effective_until": until,
            "legal_reference": "시험",
            "source": "synthetic",
        }
    )
    return ResolvedRule(rule, rule_hash(rule), a, b)


def _expected(resolved: ResolvedRule, rows: list[Row]) -> set[tuple]:
    """The oracle: every ordered pair, judged in Python."""
    rule = resolved.rule
    by_group: dict[object, list[Row]] = defaultdict(list)
    for row in rows:
        if row.status == "suspended":
            continue
        key = row.person if rule.scope.value == "person" else row.household
        if key is not None:
            by_group[key].append(row)
    found = set()
    for group in by_group.values():
        for x in group:
            for y in group:
                if x.id == y.id or x.programme not in resolved.a or y.programme not in resolved.b:
                    continue
                if rule.distinct_sources and x.source == y.source:
                    continue
                both = resolved.shared
                if x.programme in both and y.programme in both and x.id > y.id:
                    continue  # the same pair the other way round
                span = overlap(rule.overlap, x.start, x.end, y.start, y.end)
                span = within_window(rule, span) if span is not None else None
                if span is not None:
                    household = x.household if rule.scope.value == "household" else None
                    found.add((x.id, y.id, household, *span))
    return found


async def test_the_rule_sql_agrees_with_the_oracle(database_url: str) -> None:
    rng = random.Random(SEED)
    tag = secrets.token_hex(3).upper()
    codes = [f"TST-{tag}-{letter}" for letter in "ABC"]
    persons, rows = _population(rng, codes)
    rules = [_rule(rng, number, codes) for number in range(10, 10 + RULES)]
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(insert(Person), persons)
            await session.execute(
                insert(Enrolment),
                [
                    {
                        "id": r.id,
                        "person_id": r.person,
                        "programme_code": r.programme,
                        "source_org": r.source,
                        "source_record_id": f"{tag}-{r.id.hex}",
                        "period_start": r.start,
                        "period_end": r.end,
                        "status": r.status,
                        "fingerprint": "x",
                    }
                    for r in rows
                ],
            )
        dialect = db.engine.dialect.name
        kinds_hit: set[str] = set()
        async with db.transaction() as session:
            # A scan reads household rules from the materialised households: check both ways.
            await materialise_households(session, frozenset(codes))
            for resolved, households in itertools.product(rules, (None, HOUSEHOLDS)):
                query = matches(dialect, resolved, households=households)
                got = {
                    (m.enrolment_a, m.enrolment_b, m.household_id, m.overlap_start, m.overlap_end)
                    for m in await session.execute(query)
                }
                want = _expected(resolved, rows)
                rule = resolved.rule
                assert got == want, (
                    f"{rule.id} {rule.overlap} {rule.scope} distinct={rule.distinct_sources} "
                    f"a={sorted(resolved.a)} b={sorted(resolved.b)} window="
                    f"{rule.effective_from}..{rule.effective_until}: "
                    f"missing {sorted(want - got)[:3]}, extra {sorted(got - want)[:3]}"
                )
                if want:
                    kinds_hit.add(f"{rule.overlap.kind}/{rule.scope.value}")
        # The random rules really exercised every kind in both scopes.
        assert len(kinds_hit) == 6, kinds_hit
    finally:
        await db.dispose()
