"""One synthetic population: persons in households, with ages, sexes, regions, names, RRNs,
disabilities, incomes and basic-livelihood / near-poverty status.

Kept compact on purpose (a benchmark builds 400,000 persons): every attribute is a typed
`array` indexed by person or household number, never an object per person. Names and RRN
texts are rebuilt on demand from small indices.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

from connectors.synthetic import korea

# person flags; bits 5-6 hold the naming generation (korea.generation of the birth year)
MALE, DISABLED, SEVERE, MERIT, HEAD = 1, 2, 4, 8, 16
GENERATION_SHIFT = 5
# household flags
BLS, NEAR_POVERTY, RENTING, SINGLE_PARENT, RESERVED, DISTRICT_HEATING = 1, 2, 4, 8, 16, 32
FACILITY_SHIFT = 8
"""Bits 8-9 of the household flags: the welfare centre that serves it (index into FACILITIES)."""
FACILITIES = (None, "WC-ARA", "WC-NOWON", "WC-NOWON-2")

_CHECK_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_RANDOM_DIGITS_FROM = date(2020, 10, 1).toordinal()
"""RRNs issued from 2020-10 carry random digits instead of a check digit (DOMAIN.md)."""
YEAR = 365.2425


@dataclass(slots=True)
class Population:
    """Persons 0..n-1 grouped in households 0..h-1 (household h holds persons
    `household_start[h]` up to `household_start[h+1]`; the first member is the head)."""

    seed: int
    today: int
    """Ordinal of the reference day."""
    birth: array[int]  # person -> birth date ordinal
    person_flags: array[int]  # person -> MALE | DISABLED | ...
    region: array[int]  # person -> index into `regions`
    surname: array[int]
    given: array[int]
    rrn: array[int]  # person -> 13-digit number
    household: array[int]  # person -> household number
    household_start: array[int]
    band: array[int]  # household -> income band (% of 기준중위소득)
    household_flags: array[int]
    since: array[int]  # household -> ordinal since when its BLS / near-poverty status holds
    regions: list[str]

    @property
    def size(self) -> int:
        return len(self.birth)

    @property
    def households(self) -> int:
        return len(self.household_start) - 1

    def age(self, person: int) -> int:
        return int((self.today - self.birth[person]) / YEAR)

    def members(self, household: int) -> range:
        return range(self.household_start[household], self.household_start[household + 1])

    def name(self, person: int) -> str:
        flags = self.person_flags[person]
        names = korea.GIVEN_NAMES[(bool(flags & MALE), (flags >> GENERATION_SHIFT) & 3)]
        return korea.SURNAMES[self.surname[person]][0] + names[self.given[person]]

    def rrn_text(self, person: int) -> str:
        return f"{self.rrn[person]:013d}"

    def region_code(self, person: int) -> str:
        return self.regions[self.region[person]]

    def household_id(self, person: int) -> str:
        return f"H{self.household[person] + 1:06d}"

    def facility(self, household: int) -> str | None:
        return FACILITIES[(self.household_flags[household] >> FACILITY_SHIFT) & 3]


def seeded(seed: int, *stream: str) -> random.Random:
    """The random stream `stream` of run `seed`: each part of the generator draws from its own,
    so one source's file does not change when another's code does. Not for secrets: this is
    reproducible synthetic data."""
    return random.Random(":".join(("synthetic", str(seed), *stream)))  # noqa: S311


def rrn_for(birth: date, male: bool, serial: int, tail: int) -> int:
    """A well-formed RRN: birth date, century/sex digit, 5 serial digits, then the historic
    check digit (or `tail` for numbers issued since 2020-10, whose last digit is random)."""
    digit = (1 if birth.year < 2000 else 3) + (0 if male else 1)
    first = (birth.year % 100) * 10_000 + birth.month * 100 + birth.day
    number = (first * 10 + digit) * 100_000 + serial
    if birth.toordinal() < _RANDOM_DIGITS_FROM:
        total, rest = 0, number
        for weight in reversed(_CHECK_WEIGHTS):
            rest, d = divmod(rest, 10)
            total += d * weight
        tail = (11 - total % 11) % 10
    return number * 10 + tail


class _Builder:
    def __init__(self, persons: int, seed: int, today: date) -> None:
        self.rng = seeded(seed, "population")
        self.wanted = persons
        self.today = today
        self.regions = [code for code, _, _ in korea.REGIONS]
        for dongs in korea.DONGS.values():
            self.regions.extend(code for code, _ in dongs)
        self.region_index = {code: i for i, code in enumerate(self.regions)}
        self.region_cum = list(accumulate(w for _, _, w in korea.REGIONS))
        self.surname_cum = list(accumulate(w for _, w in korea.SURNAMES))
        self.serials: dict[int, int] = {}
        self.population = Population(
            seed=seed,
            today=today.toordinal(),
            birth=array("i"),
            person_flags=array("H"),
            region=array("B"),
            surname=array("B"),
            given=array("B"),
            rrn=array("q"),
            household=array("i"),
            household_start=array("i", [0]),
            band=array("H"),
            household_flags=array("H"),
            since=array("i"),
            regions=self.regions,
        )

    # -- households --------------------------------------------------------------------------

    def build(self) -> Population:
        pop = self.population
        while pop.size < self.wanted:
            self._household()
        return pop

    def _household(self) -> None:
        rng = self.rng
        pick = rng.random()
        members: list[tuple[int, bool]]  # (age, male)
        if pick < 0.36:
            kind = "single"
            age = _between(rng, *rng.choice(((20, 34), (35, 64), (55, 74), (65, 95))))
            members = [(age, rng.random() < 0.48)]
            base = 55 if age >= 65 else 105
        elif pick < 0.58:
            kind = "couple"
            age = _between(rng, *rng.choice(((28, 44), (45, 64), (55, 74), (65, 88))))
            members = self._couple(age)
            base = 75 if age >= 65 else 130
        elif pick < 0.83:
            kind = "family"
            age = _between(rng, 30, 58)
            members = self._couple(age) + self._children(age, rng.choice((1, 1, 2, 2, 3)))
            base = 120
        elif pick < 0.90:
            kind = "single_parent"
            age = _between(rng, 26, 55)
            members = [(age, rng.random() < 0.2), *self._children(age, rng.choice((1, 1, 2)))]
            base = 60
        elif pick < 0.94:
            kind = "three_generations"
            elder = _between(rng, 68, 90)
            members = self._couple(elder) if rng.random() < 0.5 else [(elder, rng.random() < 0.3)]
            parent = _between(rng, 36, 52)
            members += self._couple(parent) + self._children(parent, rng.choice((1, 2)))
            base = 100
        else:
            kind = "adult_children"
            age = _between(rng, 52, 78)
            members = self._couple(age) if rng.random() < 0.7 else [(age, rng.random() < 0.3)]
            members += [
                (_between(rng, 20, 35), rng.random() < 0.5) for _ in range(_between(rng, 1, 2))
            ]
            base = 120
        members = members[: min(6, self.wanted - self.population.size)]
        self._store(kind, members, base)

    def _couple(self, age: int) -> list[tuple[int, bool]]:
        spouse = max(20, age + _between(self.rng, -4, 3))
        return [(age, True), (spouse, False)]

    def _children(self, parent_age: int, count: int) -> list[tuple[int, bool]]:
        rng = self.rng
        children = []
        for _ in range(count):
            age = parent_age - _between(rng, 26, 40)
            if 0 <= age <= 24:
                children.append((age, rng.random() < 0.51))
        return children

    def _store(self, kind: str, members: list[tuple[int, bool]], base: float) -> None:
        rng, pop = self.rng, self.population
        number = pop.households
        region = self._region()
        band = int(min(600, max(5, rng.lognormvariate(math.log(base), 0.55))))
        flags = 0
        if band <= 45 and rng.random() < 0.5:
            flags |= BLS
        elif band <= 52 and rng.random() < 0.6:
            flags |= NEAR_POVERTY
        if rng.random() < (0.8 if flags & (BLS | NEAR_POVERTY) else 0.42):
            flags |= RENTING
        if kind == "single_parent":
            flags |= SINGLE_PARENT
        if rng.random() < 0.15:
            flags |= DISTRICT_HEATING
        code = self.regions[region]
        if code == korea.ARA_DONG:
            flags |= 1 << FACILITY_SHIFT
        elif code.startswith(korea.NOWON):
            flags |= (2 if rng.random() < 0.55 else 3) << FACILITY_SHIFT
        pop.band.append(band)
        pop.household_flags.append(flags)
        pop.since.append(pop.today - _between(rng, 60, 4000))
        for position, (age, male) in enumerate(members):
            self._person(number, region, age, male, position == 0)
        pop.household_start.append(pop.size)

    def _region(self) -> int:
        rng = self.rng
        i = min(
            len(korea.REGIONS) - 1,
            bisect(self.region_cum, rng.random() * self.region_cum[-1]),
        )
        code = korea.REGIONS[i][0]
        roll = rng.random()
        for dong, share in korea.DONGS.get(code, ()):
            if roll < share:
                return self.region_index[dong]
            roll -= share
        return self.region_index[code]

    # -- persons -----------------------------------------------------------------------------

    def _person(self, household: int, region: int, age: int, male: bool, head: bool) -> None:
        rng, pop = self.rng, self.population
        birth_ordinal = pop.today - int(age * YEAR) - _between(rng, 1, 364)
        birth = date.fromordinal(birth_ordinal)
        flags = (MALE if male else 0) | (HEAD if head else 0)
        flags |= korea.generation(birth.year) << GENERATION_SHIFT
        disability = 0.01 if age < 20 else 0.03 if age < 50 else 0.07 if age < 65 else 0.12
        if rng.random() < disability:
            flags |= DISABLED | (SEVERE if rng.random() < 0.38 else 0)
        if (male and birth.year <= 1955 and rng.random() < 0.12) or (
            30 <= age <= 64 and rng.random() < 0.004
        ):
            flags |= MERIT
        key = birth_ordinal * 2 + male
        count = self.serials.get(key, 0)
        self.serials[key] = count + 1
        serial = (count * 7919 + birth_ordinal * 2654435761) % 100_000
        pop.birth.append(birth_ordinal)
        pop.person_flags.append(flags)
        pop.region.append(region)
        pop.surname.append(bisect(self.surname_cum, rng.random() * self.surname_cum[-1]))
        pop.given.append(int(rng.random() * 20))
        pop.rrn.append(rrn_for(birth, male, serial, int(rng.random() * 10)))
        pop.household.append(household)


def _between(rng: random.Random, low: int, high: int) -> int:
    """`randint`, at a fraction of its cost (it is called millions of times)."""
    return low + int(rng.random() * (high - low + 1))


def build_population(persons: int, seed: int, today: date) -> Population:
    """The seeded population of exactly `persons` persons."""
    if persons < 1:
        raise ValueError("persons must be at least 1")
    return _Builder(persons, seed, today).build()
