"""When two enrolment periods conflict under a rule's overlap kind: the pure oracle.

Pure: no I/O. The scan and the ingestion hook compute the same thing in SQL
(hub.duplicates.sql); a property test holds the two to this module on both databases.

Periods are inclusive ranges of days; an end of None is open-ended (still running). With
``later start`` = the later of the two starts and ``earlier end`` = the earlier of the two ends:

- ``any_day`` (two payments for the same day): the periods share a day, i.e. later start ≤
  earlier end. The result is the shared days, [later start, earlier end].
- ``same_month`` (monthly benefits, paid per month): the periods touch a common calendar
  month, i.e. the first day of the later start's month ≤ earlier end. The result is the common
  months, from the first day of the first to the last day of the last, clipped to the days
  either period covers (never before the earlier start, never after the later end): the months
  for which both benefits were paid. E.g. 3–10 March and 20 March–30 April give 3–31 March.
- ``within_days N`` (one-off support acts, the Nowon case): the periods overlap or the later
  start minus the earlier end is at most N days. The result is the shared days when they
  overlap, else the gap between them, [earlier end, later start].
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from schemas.duplicate_rule import AnyDayOverlap, SameMonthOverlap, WithinDaysOverlap

RuleOverlap = AnyDayOverlap | SameMonthOverlap | WithinDaysOverlap
Span = tuple[date, date | None]
"""A range of days, both ends inclusive; an end of None is open-ended."""


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def last_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _earlier_end(a_end: date | None, b_end: date | None) -> date | None:
    if a_end is None:
        return b_end
    if b_end is None:
        return a_end
    return min(a_end, b_end)


def _later_end(a_end: date | None, b_end: date | None) -> date | None:
    if a_end is None or b_end is None:
        return None
    return max(a_end, b_end)


def overlap(
    rule_overlap: RuleOverlap,
    a_start: date,
    a_end: date | None,
    b_start: date,
    b_end: date | None,
) -> Span | None:
    """The conflicting span of two periods under ``rule_overlap``, or None if they do not
    conflict (see the module docstring for each kind)."""
    later_start = max(a_start, b_start)
    earlier_end = _earlier_end(a_end, b_end)
    shares_a_day = earlier_end is None or later_start <= earlier_end
    if isinstance(rule_overlap, AnyDayOverlap):
        return (later_start, earlier_end) if shares_a_day else None
    if isinstance(rule_overlap, SameMonthOverlap):
        if earlier_end is not None and first_of_month(later_start) > earlier_end:
            return None
        start = max(first_of_month(later_start), min(a_start, b_start))
        later_end = _later_end(a_end, b_end)
        if earlier_end is None:
            return start, None
        last = last_of_month(earlier_end)
        return start, last if later_end is None else min(last, later_end)
    if shares_a_day:
        return later_start, earlier_end
    assert earlier_end is not None
    if later_start - earlier_end <= timedelta(days=rule_overlap.days):
        return earlier_end, later_start
    return None
