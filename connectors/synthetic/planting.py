"""Planted cases for later work: duplicate-benefit pairs, adjacent periods that must not be
flagged, and civil-status events.

For every duplicate rule, `CASES_OVERLAP` subjects (persons, or households for household-scoped
rules) are enrolled on both sides with periods that overlap in the rule's sense, and
`CASES_ADJACENT` subjects with periods that touch without overlapping. Overlap semantics
(duplicate_rules.yaml): any_day = share a day; same_month = touch the same calendar month;
within_days N = overlap or lie at most N days apart, "apart" being the difference of the dates
(later start minus earlier end). Cases include the boundaries: one shared day, the same month
without a shared day, exactly N days apart; and, not flagged: the next day, the next month,
N + 1 days apart.

Each subject's household is reserved: it gets no natural enrolment in a programme any rule
names, so the planted pair is the only finding it can produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from connectors.synthetic.periods import SHAPES, day, month_end
from connectors.synthetic.population import (
    DISABLED,
    FACILITY_SHIFT,
    RESERVED,
    YEAR,
    Population,
    seeded,
)
from schemas.duplicate_rule import DuplicateRule, RuleScope
from schemas.event import StatusEventType

CASES_OVERLAP = 3
CASES_ADJACENT = 2
DUPLICATE, ADJACENT = "duplicate", "adjacent"
FACILITY_PAIR = ("WC-NOWON", "WC-NOWON-2")
"""Two welfare centres serving the same district (노원구): the pair of a distinct-sources case."""

AGES: dict[str, tuple[int, int]] = {
    "MOHW-BLS-EDUCATION": (7, 18),
    "MPVA-TUITION": (7, 18),
    "MOE-EDUCATION-EXPENSE": (7, 18),
    "MOE-AFTER-SCHOOL-VOUCHER": (7, 18),
    "MOHW-CHILDCARE-FEE": (1, 5),
    "MOHW-HOME-CHILDCARE-ALLOWANCE": (1, 5),
    "MOHW-ELDERLY-CARE-BASIC": (65, 99),
    "MOHW-LONG-TERM-CARE": (60, 99),
    "MPVA-VETERAN-HOME-CARE": (65, 99),
    "MOHW-DISABILITY-ACTIVITY-SUPPORT": (6, 70),
    "MOHW-SELF-SUPPORT-WORK": (18, 64),
    "KFS-FOREST-TENDING": (18, 64),
    "MOIS-PUBLIC-WORK": (18, 64),
    "MOEL-EMPLOYMENT-SUCCESS": (18, 64),
    "MOEL-NATIONAL-EMPLOYMENT-SUPPORT": (18, 64),
    "MOLIT-YOUTH-RENT": (19, 34),
    "MOHW-NEAR-POVERTY-DISABILITY": (18, 80),
    "MOHW-DISABILITY-PENSION": (18, 64),
    "MCST-TRAVEL-VOUCHER": (20, 90),
    "MCST-CULTURE-NURI-CARD": (6, 90),
}
"""Who can plausibly receive a programme (default: adults); planted subjects respect it."""
NEEDS_DISABILITY = frozenset(
    {"MOHW-NEAR-POVERTY-DISABILITY", "MOHW-DISABILITY-PENSION", "MOHW-DISABILITY-ACTIVITY-SUPPORT"}
)


@dataclass(frozen=True, slots=True)
class PlantedEnrolment:
    person: int
    programme: str
    start: int
    end: int | None
    amount: int | None
    organisation: str | None
    """The facility that gave private support (which of the source's files), else None."""
    key: tuple[str, str, int, str]
    """(rule id, duplicate|adjacent, case number, a|b)."""


@dataclass(frozen=True, slots=True)
class PlantedEvent:
    person: int
    type: StatusEventType
    effective: int
    new_region: str | None


def _first_of_month(ordinal: int, months: int = 0) -> int:
    d = date.fromordinal(ordinal)
    index = d.year * 12 + d.month - 1 + months
    return day(index // 12, index % 12 + 1, 1)


def _base(rule: DuplicateRule) -> int:
    """A month well inside the rule's effective period where the cases begin."""
    if rule.effective_until is not None:
        return _first_of_month(rule.effective_until.toordinal() - 700)
    return max(_first_of_month(rule.effective_from.toordinal() + 60), day(2023, 1, 1))


Span = tuple[int, int | None]


def periods(rule: DuplicateRule, kind: str, case: int, start: int) -> tuple[Span, Span]:
    """The (a, b) periods of one planted case of `rule` beginning at day `start`."""
    overlap = rule.overlap
    if overlap.kind == "within_days":
        n = overlap.days
        if kind == DUPLICATE:
            return ((start, start), (start + (5, n, 0)[case], start + (5, n, 0)[case]))
        a, b = start, start + n + 1
        return ((a, a), (b, b)) if case == 0 else ((b, b), (a, a))
    if kind == DUPLICATE:
        if case == 0:  # nested
            return ((start, start + 180), (start + 30, start + 120))
        if case == 1:
            if overlap.kind == "any_day":  # a single shared day
                return ((start, start + 90), (start + 90, start + 200))
            m = _first_of_month(start, 2)  # the same month, no shared day
            return ((start, m + 4), (m + 19, m + 110))
        return ((start, None), (start + 200, start + 300))  # open-ended
    edge = month_end(date.fromordinal(start).year, date.fromordinal(start).month + 1)
    if case == 0:  # next day / next month
        return ((start, edge), (edge + 1, edge + 120))
    return ((edge + 1, None), (start, edge))  # b first, a open-ended after it


class Planter:
    """Chooses subjects and writes down the planted enrolments and events."""

    def __init__(self, pop: Population, sources: dict[str, str]) -> None:
        self.pop = pop
        self.sources = sources
        self.rng = seeded(pop.seed, "planting")
        self.enrolments: list[PlantedEnrolment] = []
        self.events: list[PlantedEvent] = []

    # -- duplicate rules ---------------------------------------------------------------------

    def plant_rules(self, rules: tuple[DuplicateRule, ...]) -> None:
        for rule in rules:
            a, b = rule.a.programme, rule.b.programme
            if a not in self.sources or b not in self.sources:
                continue  # a side no source reports (or a category side): nothing to plant
            base = _base(rule)
            for kind, cases in ((DUPLICATE, CASES_OVERLAP), (ADJACENT, CASES_ADJACENT)):
                for case in range(cases):
                    start = _first_of_month(base, 3 * (case + cases * (kind == ADJACENT)))
                    self._plant(rule, kind, case, start)

    def _plant(self, rule: DuplicateRule, kind: str, case: int, start: int) -> bool:
        """One case; False when no household fits (a very small population)."""
        a, b = rule.a.programme, rule.b.programme
        assert a is not None
        assert b is not None
        found = self._subject(rule, a, b, start)
        if found is None:
            return False
        person_a, person_b = found
        (a_start, a_end), (b_start, b_end) = periods(rule, kind, case, start)
        organisations: tuple[str | None, str | None] = (None, None)
        if rule.distinct_sources:
            organisations = FACILITY_PAIR if case % 2 == 0 else FACILITY_PAIR[::-1]
        for side, person, programme, begin, end, organisation in (
            ("a", person_a, a, a_start, a_end, organisations[0]),
            ("b", person_b, b, b_start, b_end, organisations[1]),
        ):
            amount = SHAPES[programme](self.pop, person, self.rng)[0][2]
            self.enrolments.append(
                PlantedEnrolment(
                    person, programme, begin, end, amount, organisation, (rule.id, kind, case, side)
                )
            )
        return True

    def _fits(self, person: int, programme: str, start: int) -> bool:
        """Whether the person was of an age for the programme when the case begins."""
        low, high = AGES.get(programme, (18, 99))
        age = int((start - self.pop.birth[person]) / YEAR)
        if not low <= age <= high:
            return False
        return programme not in NEEDS_DISABILITY or bool(self.pop.person_flags[person] & DISABLED)

    def _subject(self, rule: DuplicateRule, a: str, b: str, start: int) -> tuple[int, int] | None:
        pop, rng = self.pop, self.rng
        households = pop.households
        for attempt in range(households + 20_000):
            household = int(rng.random() * households) if attempt < 20_000 else attempt - 20_000
            flags = pop.household_flags[household]
            if flags & RESERVED:
                continue
            if rule.distinct_sources and (flags >> FACILITY_SHIFT) & 3 not in (2, 3):
                continue
            members = pop.members(household)
            if rule.scope is RuleScope.PERSON:
                pair = next(
                    (
                        (p, p)
                        for p in members
                        if self._fits(p, a, start) and self._fits(p, b, start)
                    ),
                    None,
                )
            else:
                firsts = [p for p in members if self._fits(p, a, start)]
                seconds = [p for p in members if self._fits(p, b, start)]
                pair = None
                if firsts and seconds:
                    others = [p for p in seconds if p != firsts[0]]
                    pair = (firsts[0], others[0] if others else seconds[0])
            if pair is not None:
                pop.household_flags[household] = flags | RESERVED
                return pair
        return None

    # -- civil-status events -----------------------------------------------------------------

    def plant_events(self, masks: object) -> None:
        """Deaths (mostly of older people), 말소 and moves to another 시군구, for persons with
        enrolments (plus a few without: the registry reports everyone, the hub tells only
        agencies that serve the person)."""
        pop, rng = self.pop, self.rng
        size = pop.size
        wanted = (
            (StatusEventType.PERSON_DIED, max(5, round(size * 0.006)), 60),
            (StatusEventType.PERSON_DEREGISTERED, max(5, round(size * 0.002)), 18),
            (StatusEventType.PERSON_ADDRESS_CHANGED, max(5, round(size * 0.008)), 18),
        )
        taken: set[int] = set()
        for event_type, count, min_age in wanted:
            placed, extra = 0, 0
            for _ in range(200 * count + 1000):
                if placed >= count and extra >= count // 5:
                    break
                person = int(rng.random() * size)
                household = pop.household[person]
                if person in taken or pop.household_flags[household] & RESERVED:
                    continue
                if pop.age(person) < min_age:
                    continue
                enrolled = bool(masks[person])  # type: ignore[index]
                if (enrolled and placed >= count) or (not enrolled and extra >= count // 5):
                    continue
                placed, extra = placed + enrolled, extra + (not enrolled)
                taken.add(person)
                effective = pop.today - 1 - int(rng.random() * 180)
                new_region = None
                if event_type is StatusEventType.PERSON_ADDRESS_CHANGED:
                    new_region = self._elsewhere(pop.region_code(person))
                self.events.append(PlantedEvent(person, event_type, effective, new_region))
        self.events.sort(key=lambda e: (e.effective, e.person))

    def _elsewhere(self, region: str) -> str:
        while True:
            other = self.pop.regions[int(self.rng.random() * len(self.pop.regions))]
            if other[:5] != region[:5]:
                return other
