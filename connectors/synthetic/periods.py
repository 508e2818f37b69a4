"""When and how much: the enrolment periods (and amounts) of one person in one programme.

Each programme has a shape: open-ended since a start (rental contracts, 장애인활동지원), yearly
rows (vouchers, school years, yearly benefit amounts as 행복e음 records each year's change),
short episodes (긴급지원, 공공근로 half-years), or single support acts (private support).
Dates are day ordinals; an end of None means open-ended. Periods never end before they start.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from functools import cache

from connectors.synthetic.population import YEAR, Population

Period = tuple[int, int | None, int | None]
"""(start ordinal, end ordinal or None, amount in won or None)."""


@cache
def day(year: int, month: int, dd: int) -> int:
    return date(year, month, dd).toordinal()


def month_end(year: int, month: int) -> int:
    return day(year + month // 12, month % 12 + 1, 1) - 1


def _since(pop: Population, person: int, rng: random.Random, low: int, high: int) -> int:
    """A start between `high` and `low` days ago, never before the person's birth."""
    return max(pop.birth[person] + 1, pop.today - low - int(rng.random() * (high - low)))


def _amount(rng: random.Random, low: int, high: int, step: int = 10) -> int:
    return (low + int(rng.random() * (high - low))) // step * step


def _open(
    low: int, high: int, amounts: tuple[int, int] | None = None
) -> Callable[..., list[Period]]:
    def shape(pop: Population, person: int, rng: random.Random) -> list[Period]:
        amount = _amount(rng, *amounts) if amounts else None
        return [(_since(pop, person, rng, low, high), None, amount)]

    return shape


def _yearly(
    first_year: int,
    month: int,
    amounts: tuple[int, int] | None,
    *,
    household_since: bool = False,
    voucher: bool = False,
) -> Callable[..., list[Period]]:
    """One row per year (from `month` to the month before) since the enrolment began: how a
    yearly re-determined benefit (the current calendar-year row open-ended) or a yearly
    voucher (valid to the end of its year) is recorded."""

    def shape(pop: Population, person: int, rng: random.Random) -> list[Period]:
        today = pop.today
        if household_since:
            began = pop.since[pop.household[person]]
        else:
            began = _since(pop, person, rng, 30, 365 * 6)
        year = max(first_year, date.fromordinal(began).year)
        current = date.fromordinal(today).year - (date.fromordinal(today).month < month)
        amount = _amount(rng, *amounts) if amounts else None
        rows: list[Period] = []
        for y in range(year, current + 1):
            start = max(began, day(y, month, 1)) if y == year else day(y, month, 1)
            end = day(y + 1, month, 1) - 1
            still_open = y == current and month == 1 and not voucher
            rows.append((start, None if still_open else end, amount))
            if amount:
                amount = amount * 103 // 100 // 10 * 10
        return rows or [(began, None, amount)]

    return shape


def _episodes(
    low: int, high: int, months: tuple[int, int], amounts: tuple[int, int] | None, count: int = 1
) -> Callable[..., list[Period]]:
    def shape(pop: Population, person: int, rng: random.Random) -> list[Period]:
        rows: list[Period] = []
        start = _since(pop, person, rng, low, high)
        for _ in range(1 + int(rng.random() * count)):
            length = int((months[0] + rng.random() * (months[1] - months[0])) * 30.4)
            end = start + max(1, length) - 1
            rows.append((start, end, _amount(rng, *amounts) if amounts else None))
            start = end + 60 + int(rng.random() * 300)
            if start >= pop.today:
                break
        return rows

    return shape


def _childcare_fee(pop: Population, person: int, rng: random.Random) -> list[Period]:
    """보육료: from the first birthday or so, renewed each March, ending when school begins."""
    birth = date.fromordinal(pop.birth[person])
    start = pop.birth[person] + 90 + int(rng.random() * 400)
    start = max(pop.birth[person] + 1, min(start, pop.today))
    school = day(birth.year + 7, 3, 1) - 1  # school starts in March of the year of turning 7
    rows: list[Period] = []
    year = date.fromordinal(start).year
    while start <= pop.today and start <= school:
        end = min(school, day(year + 1, 2, 28 if (year + 1) % 4 else 29))
        rows.append((start, None if end >= pop.today else end, 500_000))
        year += 1
        start = end + 1
    return rows


def _home_allowance(pop: Population, person: int, rng: random.Random) -> list[Period]:
    start = pop.birth[person] + 10 + int(rng.random() * 50)
    end = pop.birth[person] + int(86 * 30.44)  # 86 months
    return [(min(start, pop.today - 1), None if end >= pop.today else end, 100_000)]


def _pension(age: int, amounts: tuple[int, int], month: int = 4) -> Callable[..., list[Period]]:
    """A pension from `age` (or when the person applied), re-rated every year."""
    yearly = _yearly(2020, month, amounts)

    def shape(pop: Population, person: int, rng: random.Random) -> list[Period]:
        eligible = min(pop.today, pop.birth[person] + int(age * YEAR) + 30)
        rows = yearly(pop, person, rng)
        return [(max(s, eligible), e, a) for s, e, a in rows if e is None or e >= eligible]

    return shape


def _scholarship(pop: Population, person: int, rng: random.Random) -> list[Period]:
    """국가장학금 per semester (March-August, September-February) since the student was 19."""
    entry = date.fromordinal(pop.birth[person]).year + 19
    rows: list[Period] = []
    amount = _amount(rng, 1_000_000, 2_850_000, 10_000)
    for year in range(max(entry, 2023), date.fromordinal(pop.today).year + 1):
        for start, end in (
            (day(year, 3, 1), day(year, 8, 31)),
            (day(year, 9, 1), day(year + 1, 3, 1) - 1),
        ):
            if start < pop.today and (rng.random() < 0.85 or year == entry):
                rows.append((start, end, amount))
    return rows or [
        (
            day(date.fromordinal(pop.today).year, 3, 1),
            day(date.fromordinal(pop.today).year, 8, 31),
            amount,
        )
    ]


def _energy_voucher(pop: Population, person: int, rng: random.Random) -> list[Period]:
    """에너지바우처 per season: July to the next April."""
    year = date.fromordinal(pop.today).year
    return [
        (day(y, 7, 1), day(y + 1, 4, 30), _amount(rng, 295_200, 701_300, 100))
        for y in range(year - 2 + int(rng.random() * 2), year + 1)
    ]


def _support_acts(
    pop: Population, person: int, rng: random.Random, amounts: tuple[int, int] | None
) -> list[Period]:
    """Private support: single days, a few weeks to months apart, over the last three years.
    Acts of one kind from one facility are always more than 30 days apart (DUP-29..31 compare
    facilities, not acts of the same one, but a realistic rhythm is monthly or rarer)."""
    rows: list[Period] = []
    day_ = pop.today - 1000 + int(rng.random() * 600)
    while day_ < pop.today and len(rows) < 8:
        rows.append((day_, day_, _amount(rng, *amounts, 1000) if amounts else None))
        day_ += 35 + int(rng.random() * 200)
    return rows


def _acts(amounts: tuple[int, int] | None) -> Callable[..., list[Period]]:
    return lambda pop, person, rng: _support_acts(pop, person, rng, amounts)


def _public_work(pop: Population, person: int, rng: random.Random) -> list[Period]:
    """공공근로 runs in half-year stages (1단계 Jan-Jun, 2단계 Jul-Dec)."""
    rows: list[Period] = []
    year = date.fromordinal(pop.today).year - int(rng.random() * 4)
    half = int(rng.random() * 2)
    for _ in range(1 + int(rng.random() * 3)):
        start = day(year, 1 + 6 * half, 2)
        if start >= pop.today:
            break
        end = day(year, 6, 30) if half == 0 else day(year, 12, 31)
        rows.append((start, end, _amount(rng, 5_400_000, 7_200_000, 1000)))
        year, half = (year, 1) if half == 0 else (year + 1, 0)
    return rows


SHAPES: dict[str, Callable[[Population, int, random.Random], list[Period]]] = {
    "MOHW-BLS-LIVELIHOOD": _yearly(2019, 1, (620_000, 1_950_000), household_since=True),
    "MOHW-BLS-MEDICAL": _yearly(2019, 1, None, household_since=True),
    "MOHW-BLS-HOUSING": _yearly(2019, 1, (250_000, 420_000), household_since=True),
    "MOHW-BLS-EDUCATION": _yearly(2021, 3, (461_000, 727_000), household_since=True),
    "MOHW-NEAR-POVERTY-COPAY": _yearly(2021, 1, None, household_since=True),
    "MOHW-NEAR-POVERTY-DISABILITY": _yearly(2020, 1, (30_000, 40_000)),
    "MOHW-NEAR-POVERTY-SELF-SUPPORT": _episodes(60, 1500, (6, 18), None),
    "MOHW-EMERGENCY-SUPPORT": _episodes(30, 2500, (1, 3), (730_000, 1_830_000)),
    "MOHW-SELF-SUPPORT-WORK": _episodes(30, 2200, (6, 24), (1_250_000, 1_600_000), count=2),
    "MOHW-CHILDCARE-FEE": _childcare_fee,
    "MOHW-HOME-CHILDCARE-ALLOWANCE": _home_allowance,
    "MOHW-DREAM-START": _open(30, 1800),
    "MOHW-BASIC-PENSION": _pension(65, (257_000, 343_000)),
    "MOHW-ELDERLY-CARE-BASIC": _open(60, 2500),
    "MOHW-LONG-TERM-CARE": _open(60, 2000, (1_200_000, 1_900_000)),
    "MOHW-RETIREMENT-PREP": _episodes(30, 1500, (1, 3), None),
    "MOHW-DISABILITY-PENSION": _pension(18, (300_000, 424_000)),
    "MOHW-DISABILITY-ACTIVITY-SUPPORT": _open(100, 3000, (800_000, 2_400_000)),
    "MOHW-VISITING-HEALTH": _episodes(30, 1500, (6, 12), None, count=2),
    "MOHW-MEDICAL-AID-CASE-MGMT": _episodes(30, 1500, (6, 12), None, count=2),
    "MOEL-EMPLOYMENT-SUCCESS": _episodes(2140, 3600, (6, 12), (250_000, 500_000)),
    "MOEL-NATIONAL-EMPLOYMENT-SUPPORT": _episodes(30, 2000, (6, 6), (500_000, 500_001), count=2),
    "MOEL-LEARNING-CARD": _episodes(0, 2400, (60, 60), (3_000_000, 3_000_001), count=2),
    "MOLIT-PERMANENT-RENTAL": _open(100, 6000, (50_000, 120_000)),
    "MOLIT-NATIONAL-RENTAL": _open(100, 5000, (150_000, 350_000)),
    "MOLIT-PUBLIC-RENTAL": _open(100, 4000, (200_000, 450_000)),
    "MOLIT-PURCHASE-RENTAL": _open(100, 4000, (60_000, 180_000)),
    "MOLIT-LONG-TERM-JEONSE": _open(100, 4000, None),
    "MOLIT-YOUTH-RENT": _episodes(30, 1200, (12, 12), (200_000, 200_001)),
    "MOLIT-GREENBELT-RESIDENT-SUPPORT": _yearly(2022, 1, (300_000, 900_000), voucher=True),
    "MOGEF-CHILD-CARE-SERVICE": _episodes(30, 1500, (3, 18), None, count=2),
    "MOGEF-SINGLE-PARENT-CHILD-SUPPORT": _yearly(2021, 1, (200_000, 210_000), household_since=True),
    "MPVA-TUITION": _yearly(2024, 3, (1_200_000, 2_400_000)),
    "MPVA-PROSTHESIS": _episodes(30, 3000, (0, 0), (350_000, 2_800_000)),
    "MPVA-HONOUR-ALLOWANCE": _yearly(2021, 1, (390_000, 420_000)),
    "MPVA-VETERAN-HOME-CARE": _open(60, 2500),
    "MOE-EDUCATION-EXPENSE": _yearly(2025, 3, (600_000, 900_000)),
    "MOE-AFTER-SCHOOL-VOUCHER": _yearly(2025, 3, (600_000, 600_001)),
    "MOE-NATIONAL-SCHOLARSHIP": _scholarship,
    "MCST-CULTURE-NURI-CARD": _yearly(2024, 1, (130_000, 130_001), voucher=True),
    "MCST-TRAVEL-VOUCHER": lambda pop, person, rng: [(day(2013, 3, 1), day(2013, 12, 31), 200_000)],
    "MCST-SPORTS-VOUCHER": _yearly(2025, 2, (95_000, 95_001)),
    "MOTIE-ENERGY-VOUCHER": _energy_voucher,
    "MOTIE-HEAT-CHARGE-REDUCTION": _open(100, 2500, (59_000, 59_001)),
    "MOTIE-ELECTRICITY-DISCOUNT": _open(100, 4000, (8_000, 16_000)),
    "KFS-FOREST-TENDING": _episodes(30, 1400, (3, 9), (2_060_000, 2_300_000), count=2),
    "KFS-FOREST-WELFARE-VOUCHER": _yearly(2026, 1, (100_000, 100_001), voucher=True),
    "MAFRA-FOOD-VOUCHER": _yearly(2026, 1, (40_000, 100_000), voucher=True),
    "MAFRA-FARMLAND-PENSION": _open(100, 3000, (300_000, 3_000_000)),
    "MOIS-PUBLIC-WORK": _public_work,
    "PRIV-FOOD": _acts(None),
    "PRIV-CASH": _acts((100_000, 500_000)),
    "PRIV-GOODS": _acts((30_000, 200_000)),
    "PRIV-SERVICE": _acts(None),
}
