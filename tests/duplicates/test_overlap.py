"""The pure oracle of when two periods conflict (hub.duplicates.overlap) and the rule helpers
(hub.duplicates.rules): boundary cases per overlap kind, properties over random periods, rule
hashes, category sides, rules in force and effective windows."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.duplicates.overlap import first_of_month, last_of_month, overlap
from hub.duplicates.rules import (
    programmes_of,
    resolve,
    rule_hash,
    rules_in_force,
    within_window,
)
from schemas.catalogue import load_catalogue
from schemas.duplicate_rule import (
    AnyDayOverlap,
    DuplicateRule,
    RuleSide,
    SameMonthOverlap,
    WithinDaysOverlap,
)
from schemas.programme import ProgrammeCategory

D = dt.date
ANY = AnyDayOverlap(kind="any_day")
MONTH = SameMonthOverlap(kind="same_month")


def within(days: int) -> WithinDaysOverlap:
    return WithinDaysOverlap(kind="within_days", days=days)


CASES = [
    # kind, a, b, expected span
    (
        ANY,
        (D(2024, 1, 1), D(2024, 3, 31)),
        (D(2024, 3, 31), D(2024, 5, 1)),
        (D(2024, 3, 31), D(2024, 3, 31)),
    ),
    (ANY, (D(2024, 1, 1), D(2024, 3, 30)), (D(2024, 3, 31), D(2024, 5, 1)), None),
    (ANY, (D(2024, 1, 1), None), (D(2024, 3, 1), D(2024, 4, 1)), (D(2024, 3, 1), D(2024, 4, 1))),
    (ANY, (D(2024, 1, 1), None), (D(2023, 3, 1), None), (D(2024, 1, 1), None)),
    # same month without a shared day: the common month, clipped to the days either covers
    (
        MONTH,
        (D(2024, 3, 3), D(2024, 3, 10)),
        (D(2024, 3, 20), D(2024, 4, 30)),
        (D(2024, 3, 3), D(2024, 3, 31)),
    ),
    (
        MONTH,
        (D(2024, 3, 5), D(2024, 3, 10)),
        (D(2024, 3, 20), D(2024, 3, 25)),
        (D(2024, 3, 5), D(2024, 3, 25)),
    ),
    (
        MONTH,
        (D(2024, 1, 15), D(2024, 3, 10)),
        (D(2024, 2, 5), D(2024, 6, 30)),
        (D(2024, 2, 1), D(2024, 3, 31)),
    ),
    (MONTH, (D(2024, 1, 1), D(2024, 2, 29)), (D(2024, 3, 1), None), None),  # the next month
    (
        MONTH,
        (D(2024, 2, 10), None),
        (D(2024, 2, 1), D(2024, 2, 2)),
        (D(2024, 2, 1), D(2024, 2, 29)),
    ),
    (MONTH, (D(2024, 2, 10), None), (D(2024, 1, 1), None), (D(2024, 2, 1), None)),
    # within N days: the overlap, or the gap [earlier end, later start]
    (
        within(30),
        (D(2024, 3, 1), D(2024, 3, 1)),
        (D(2024, 3, 31), D(2024, 3, 31)),
        (D(2024, 3, 1), D(2024, 3, 31)),
    ),
    (within(30), (D(2024, 3, 1), D(2024, 3, 1)), (D(2024, 4, 1), D(2024, 4, 1)), None),
    (
        within(30),
        (D(2024, 4, 1), D(2024, 4, 1)),
        (D(2024, 3, 2), D(2024, 3, 2)),
        (D(2024, 3, 2), D(2024, 4, 1)),
    ),
    (
        within(1),
        (D(2024, 3, 1), D(2024, 3, 5)),
        (D(2024, 3, 5), D(2024, 3, 9)),
        (D(2024, 3, 5), D(2024, 3, 5)),
    ),
    (within(7), (D(2024, 3, 1), None), (D(2020, 1, 1), D(2020, 1, 1)), None),
]


@pytest.mark.parametrize(("kind", "a", "b", "expected"), CASES)
def test_boundaries(kind, a, b, expected) -> None:  # type: ignore[no-untyped-def]
    assert overlap(kind, *a, *b) == expected
    assert overlap(kind, *b, *a) == expected  # the order of the two enrolments does not matter


days = st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 12, 31))
periods = st.tuples(days, st.one_of(st.none(), st.integers(0, 400))).map(
    lambda p: (p[0], None if p[1] is None else p[0] + dt.timedelta(days=p[1]))
)


def _covers(period: tuple[dt.date, dt.date | None], day: dt.date) -> bool:
    return period[0] <= day and (period[1] is None or day <= period[1])


@given(periods, periods)
def test_any_day_is_the_shared_days(a, b) -> None:  # type: ignore[no-untyped-def]
    span = overlap(ANY, *a, *b)
    shared_start = max(a[0], b[0])
    assert (span is not None) == (_covers(a, shared_start) and _covers(b, shared_start))
    if span is not None:
        start, end = span
        assert _covers(a, start)
        assert _covers(b, start)
        assert end is None or (_covers(a, end) and _covers(b, end))


@given(periods, periods, st.integers(1, 366))
def test_kinds_nest(a, b, n) -> None:  # type: ignore[no-untyped-def]
    """A shared day is also a shared month and within any N days; the spans agree then."""
    shared = overlap(ANY, *a, *b)
    if shared is not None:
        assert overlap(within(n), *a, *b) == shared
        month = overlap(MONTH, *a, *b)
        assert month is not None
        assert month[0] <= shared[0]
        assert month[1] is None or (shared[1] is not None and month[1] >= shared[1])


@given(periods, periods)
def test_same_month_means_a_common_calendar_month(a, b) -> None:  # type: ignore[no-untyped-def]
    def months(p):  # type: ignore[no-untyped-def]
        end = p[1] or D(2030, 1, 1)
        return {
            (y, m)
            for y in range(p[0].year, end.year + 1)
            for m in range(1, 13)
            if first_of_month(p[0]) <= D(y, m, 1) <= end
        }

    span = overlap(MONTH, *a, *b)
    assert (span is not None) == bool(months(a) & months(b))
    if span is not None:
        start, end = span
        assert start >= min(a[0], b[0])
        assert end is None or end == last_of_month(end) or end in (a[1], b[1])


@given(periods, periods, st.integers(1, 366))
def test_within_days_is_the_gap_or_the_overlap(a, b, n) -> None:  # type: ignore[no-untyped-def]
    span = overlap(within(n), *a, *b)
    first, second = sorted([a, b], key=lambda p: p[0])
    gap = None if first[1] is None else (second[0] - first[1]).days
    if gap is None or gap <= 0 or overlap(ANY, *a, *b) is not None:
        assert span == overlap(ANY, *a, *b)
    else:
        assert (span is not None) == (gap <= n)
        if span is not None:
            assert span == (first[1], second[0])


def test_rule_hash_is_canonical_and_follows_content() -> None:
    rule = load_catalogue().duplicate_rules[0]
    assert rule_hash(rule) == rule_hash(DuplicateRule.model_validate(rule.model_dump()))
    assert len(rule_hash(rule)) == 64
    changed = rule.model_copy(update={"legal_reference": rule.legal_reference + " (개정)"})
    assert rule_hash(changed) != rule_hash(rule)
    assert len({r.hash for r in resolve(load_catalogue())}) == 31


def test_a_category_side_covers_every_programme_of_the_category() -> None:
    catalogue = load_catalogue()
    housing = programmes_of(catalogue, RuleSide(category=ProgrammeCategory.HOUSING))
    assert "MOLIT-PERMANENT-RENTAL" in housing
    assert all(catalogue.programmes[c].category is ProgrammeCategory.HOUSING for c in housing)
    assert programmes_of(catalogue, RuleSide(programme="KFS-FOREST-TENDING")) == {
        "KFS-FOREST-TENDING"
    }


def test_rules_in_force_follow_their_windows() -> None:
    catalogue = load_catalogue()
    before = {r.id for r in rules_in_force(catalogue, D(2020, 12, 31))}
    after = {r.id for r in rules_in_force(catalogue, D(2021, 1, 1))}
    assert "DUP-05" in before  # 취업성공패키지 merged into 국민취업지원제도 in 2021
    assert "DUP-05" not in after
    assert "DUP-06" in after
    assert "DUP-06" not in before
    assert rules_in_force(catalogue, D(2012, 7, 31)) == []


def test_a_span_is_clipped_to_the_rule_window() -> None:
    dup05 = next(r for r in load_catalogue().duplicate_rules if r.id == "DUP-05")
    assert within_window(dup05, (D(2020, 6, 1), None)) == (D(2020, 6, 1), D(2020, 12, 31))
    assert within_window(dup05, (D(2021, 1, 1), None)) is None
    assert within_window(dup05, (D(2010, 1, 1), D(2012, 8, 1))) == (D(2012, 8, 1), D(2012, 8, 1))
