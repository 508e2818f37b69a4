"""A duplicate rule as one set-based SELECT over the enrolments, on PostgreSQL and SQLite.

The SELECT is the whole detection: a self-join of enrolments on the person (``scope:
person``) or on the persons' household (``scope: household``; persons without a household are
never compared), one side's programmes against the other's, the periods compared in the rule's
overlap sense (hub.duplicates.overlap is the oracle; tests hold the two together on both
databases), and the conflicting span computed in SQL and clipped to the rule's effective
window (hub.duplicates.rules.within_window). The scan, the ingestion hook and the benchmark's
DuckDB reference all run this one statement; a scan reads the household rules' side from
HOUSEHOLDS, made once per scan, instead of joining persons for each rule.

Date arithmetic is the only dialect-specific part, so it lives in the two small ``_Dates``
classes below. Open ends are compared as 9999-12-31 (both databases compare ISO dates
correctly, SQLite as text) and turned back into NULL in the result.

Suspended enrolments (중지) are left out: while suspended nothing is paid, and the record does
not say for which days, so counting it would report a double payment that is not being made;
when it resumes, the source re-sends it as active and the ingestion hook compares it then.
Ended enrolments (종료) still count for the period they ran.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    MetaData,
    Select,
    String,
    Table,
    Uuid,
    and_,
    cast,
    func,
    literal,
    literal_column,
    not_,
    null,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from hub.duplicates.rules import ResolvedRule
from hub.records.models import Enrolment, Person
from schemas.duplicate_rule import AnyDayOverlap, RuleScope, SameMonthOverlap

OPEN_END = date(9999, 12, 31)
"""Stands for an open end inside the comparison; never stored."""
SUSPENDED = "suspended"

Expr = ColumnElement[Any]
Restriction = Callable[[Any, Any], Expr]
"""Given the columns of the two enrolment relations (side a, side b), a condition that limits
the pairs, e.g. to enrolments just ingested."""

#: The columns a match has, in this order (a finding minus id, status and provenance).
MATCH_COLUMNS = (
    "rule_id",
    "rule_hash",
    "enrolment_a",
    "enrolment_b",
    "programme_a",
    "programme_b",
    "source_a",
    "source_b",
    "person_a",
    "person_b",
    "household_id",
    "overlap_start",
    "overlap_end",
)


class _Dates(ABC):
    """Date arithmetic of one dialect."""

    def open_end(self) -> Expr:
        return literal(OPEN_END, Date)

    @abstractmethod
    def greatest(self, *values: Expr) -> Expr: ...

    @abstractmethod
    def least(self, *values: Expr) -> Expr: ...

    @abstractmethod
    def month_start(self, day: Expr) -> Expr: ...

    @abstractmethod
    def month_end(self, day: Expr) -> Expr: ...

    @abstractmethod
    def minus_days(self, day: Expr, days: int) -> Expr: ...


class _PostgresDates(_Dates):
    """PostgreSQL (and DuckDB, which reads the same SQL): date_trunc and date − integer."""

    def greatest(self, *values: Expr) -> Expr:
        return func.greatest(*values, type_=Date)

    def least(self, *values: Expr) -> Expr:
        return func.least(*values, type_=Date)

    def _month(self, day: Expr) -> Expr:
        return func.date_trunc("month", cast(day, DateTime()), type_=DateTime())

    def month_start(self, day: Expr) -> Expr:
        return cast(self._month(day), Date)

    def month_end(self, day: Expr) -> Expr:
        # Computed from the month start: 9999-12-31 stays 9999-12-31.
        return cast(
            self._month(day)
            + literal_column("INTERVAL '1 month'")
            - literal_column("INTERVAL '1 day'"),
            Date,
        )

    def minus_days(self, day: Expr, days: int) -> Expr:
        return cast(day - literal_column(str(int(days))), Date)


class _SqliteDates(_Dates):
    """SQLite: dates are ISO text; the multi-argument min/max and date() modifiers."""

    def greatest(self, *values: Expr) -> Expr:
        return func.max(*values, type_=Date)

    def least(self, *values: Expr) -> Expr:
        return func.min(*values, type_=Date)

    def month_start(self, day: Expr) -> Expr:
        return func.date(day, "start of month", type_=Date)

    def month_end(self, day: Expr) -> Expr:
        # date() gives NULL past 9999-12-31, so the open end maps back onto itself.
        last = func.date(day, "start of month", "+1 month", "-1 day", type_=Date)
        return func.coalesce(last, self.open_end(), type_=Date)

    def minus_days(self, day: Expr, days: int) -> Expr:
        return func.date(day, f"-{int(days)} days", type_=Date)


def dates_for(dialect: str) -> _Dates:
    """The date arithmetic of ``dialect`` (``postgresql``, ``duckdb`` or ``sqlite``)."""
    return _SqliteDates() if dialect == "sqlite" else _PostgresDates()


def _span(dates: _Dates, resolved: ResolvedRule, ea: Any, eb: Any) -> tuple[Expr, Expr, Expr]:
    """(condition, start, end) of the conflicting span, before the effective window."""
    end_a = func.coalesce(ea.period_end, dates.open_end(), type_=Date)
    end_b = func.coalesce(eb.period_end, dates.open_end(), type_=Date)
    later_start = dates.greatest(ea.period_start, eb.period_start)
    earlier_end = dates.least(end_a, end_b)
    overlap = resolved.rule.overlap
    if isinstance(overlap, AnyDayOverlap):
        return later_start <= earlier_end, later_start, earlier_end
    if isinstance(overlap, SameMonthOverlap):
        month = dates.month_start(later_start)
        start = dates.greatest(month, dates.least(ea.period_start, eb.period_start))
        end = dates.least(dates.month_end(earlier_end), dates.greatest(end_a, end_b))
        return month <= earlier_end, start, end
    # within_days: the shared days, or the gap [earlier end, later start].
    condition = dates.minus_days(later_start, overlap.days) <= earlier_end
    return (
        condition,
        dates.least(later_start, earlier_end),
        dates.greatest(later_start, earlier_end),
    )


def _in(column: Any, codes: frozenset[str]) -> Expr:
    ordered = sorted(codes)
    return column == ordered[0] if len(ordered) == 1 else column.in_(ordered)


_scratch = MetaData()
HOUSEHOLDS = Table(
    "duplicate_household_enrolments",
    _scratch,
    Column("id", Uuid()),
    Column("person_id", Uuid()),
    Column("programme_code", String(64)),
    Column("source_org", String(32)),
    Column("period_start", Date()),
    Column("period_end", Date()),
    Column("status", String(16)),
    Column("household_id", String(64)),
    Index("ix_duplicate_household_enrolments", "programme_code", "household_id"),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""A scan's enrolments of the programmes that household rules name, each with its person's
household: made once per scan (``household_enrolments``), so the household rules join it
by household instead of each joining enrolments to persons twice (about 4x faster a rule on
1,000,000 enrolments; benchmarks/RESULTS.md, issue 6). A per-connection temporary table."""

HOUSEHOLD_COLUMNS = tuple(c.name for c in HOUSEHOLDS.columns)


def household_enrolments(programmes: frozenset[str]) -> Select[Any]:
    """The rows of HOUSEHOLDS for ``programmes``: persons without a household and suspended
    enrolments are left out, as the rules leave them out."""
    e, p = Enrolment.__table__, Person.__table__
    return (
        select(*(e.c[name] for name in HOUSEHOLD_COLUMNS[:-1]), p.c.household_id)
        .join_from(e, p, p.c.id == e.c.person_id)
        .where(_in(e.c.programme_code, programmes), e.c.status != SUSPENDED)
        .where(p.c.household_id.is_not(None))
    )


def _pairs(resolved: ResolvedRule, households: Table | None) -> tuple[Any, Any, Select[Any], Expr]:
    """The two enrolment relations (side a, side b), their join, and the household column."""
    if resolved.rule.scope is RuleScope.PERSON:
        ea, eb = Enrolment.__table__.alias("ea"), Enrolment.__table__.alias("eb")
        joined = select().select_from(ea.join(eb, eb.c.person_id == ea.c.person_id))
        return ea, eb, joined, type_coerce(null(), String)
    if households is not None:
        ea, eb = households.alias("ea"), households.alias("eb")
        joined = select().select_from(ea.join(eb, eb.c.household_id == ea.c.household_id))
        return ea, eb, joined, ea.c.household_id
    ea, eb = Enrolment.__table__.alias("ea"), Enrolment.__table__.alias("eb")
    pa, pb = Person.__table__.alias("pa"), Person.__table__.alias("pb")
    joined = select().select_from(
        ea.join(pa, pa.c.id == ea.c.person_id)
        .join(pb, pb.c.household_id == pa.c.household_id)
        .join(eb, eb.c.person_id == pb.c.id)
    )
    return ea, eb, joined, pa.c.household_id


def matches(
    dialect: str,
    resolved: ResolvedRule,
    restriction: Restriction | None = None,
    *,
    households: Table | None = None,
) -> Select[Any]:
    """The pairs of enrolments that ``resolved`` matches, as rows of ``MATCH_COLUMNS``.

    Side a's enrolment comes first. A pair of two programmes both sides name (always, for a
    same-kind rule such as DUP-29) is matched once, lower enrolment id first, so a scan and the
    ingestion hook name it the same way. With ``households`` (HOUSEHOLDS, filled by a scan), a
    household rule reads it instead of joining enrolments to persons.
    """
    rule = resolved.rule
    dates = dates_for(dialect)
    ea, eb, joined, household = _pairs(resolved, households)
    a, b = ea.c, eb.c
    condition, start, end = _span(dates, resolved, a, b)
    where = [
        _in(a.programme_code, resolved.a),
        _in(b.programme_code, resolved.b),
        a.status != SUSPENDED,
        b.status != SUSPENDED,
        condition,
    ]
    # Effective window: some day of the span lies in it; the span is clipped to it.
    where.append(end >= literal(rule.effective_from, Date))
    start = dates.greatest(start, literal(rule.effective_from, Date))
    if rule.effective_until is not None:
        where.append(start <= literal(rule.effective_until, Date))
        end = dates.least(end, literal(rule.effective_until, Date))
    if rule.distinct_sources:
        where.append(a.source_org != b.source_org)
    if resolved.same_kind:
        where.append(a.id < b.id)
    elif resolved.shared:
        where.append(a.id != b.id)
        where.append(
            not_(
                and_(
                    _in(a.programme_code, resolved.shared),
                    _in(b.programme_code, resolved.shared),
                    a.id > b.id,
                )
            )
        )
    if restriction is not None:
        where.append(restriction(a, b))
    overlap_end = func.nullif(end, dates.open_end(), type_=Date)
    return joined.add_columns(
        literal(rule.id, String).label("rule_id"),
        literal(resolved.hash, String).label("rule_hash"),
        a.id.label("enrolment_a"),
        b.id.label("enrolment_b"),
        a.programme_code.label("programme_a"),
        b.programme_code.label("programme_b"),
        a.source_org.label("source_a"),
        b.source_org.label("source_b"),
        a.person_id.label("person_a"),
        b.person_id.label("person_b"),
        household.label("household_id"),
        type_coerce(start, Date).label("overlap_start"),
        type_coerce(overlap_end, Date).label("overlap_end"),
    ).where(*where)
