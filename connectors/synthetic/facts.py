"""Attribute facts the eligibility sources report: what 행복e음 knows (basic-livelihood status
and benefits, 차상위, disability, 기초연금, income band) and what NHIS knows (payment status).

Facts agree with the enrolments: a household's basic-livelihood status holds from the same day
its benefits began; medical-aid recipients pay no health-insurance contribution.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator

from connectors.synthetic.entitlements import BIT
from connectors.synthetic.population import (
    BLS,
    DISABLED,
    NEAR_POVERTY,
    SEVERE,
    YEAR,
    Population,
)

Fact = tuple[int, str, str, int, int | None]
"""(person, attribute, canonical value, valid from, valid to)."""

_BENEFITS = (
    ("MOHW-BLS-LIVELIHOOD", "livelihood"),
    ("MOHW-BLS-MEDICAL", "medical"),
    ("MOHW-BLS-HOUSING", "housing"),
    ("MOHW-BLS-EDUCATION", "education"),
)
PRODUCED = frozenset(
    {
        "health_insurance.payment_status",
        "basic_livelihood.recipient",
        "basic_livelihood.benefit",
        "near_poverty",
        "disability.registered",
        "disability.severity",
        "basic_pension.recipient",
        "income.band",
    }
)
"""The attributes this generator knows how to report."""


def facts(
    pop: Population, masks: array[int], wanted: frozenset[str], rng: random.Random
) -> Iterator[Fact]:
    """The facts about `wanted` attributes, person by person."""
    today = pop.today
    for person in range(pop.size):
        household = pop.household[person]
        flags, since, band = (
            pop.household_flags[household],
            pop.since[household],
            pop.band[household],
        )
        mask = masks[person]
        age = (today - pop.birth[person]) / YEAR
        if "basic_livelihood.recipient" in wanted and flags & (BLS | NEAR_POVERTY):
            yield (
                person,
                "basic_livelihood.recipient",
                "true" if flags & BLS else "false",
                since,
                None,
            )
        if "basic_livelihood.benefit" in wanted and flags & BLS:
            for code, value in _BENEFITS:
                if mask & BIT[code]:
                    yield person, "basic_livelihood.benefit", value, since, None
        if "near_poverty" in wanted and flags & NEAR_POVERTY:
            yield person, "near_poverty", "true", since, None
        pflags = pop.person_flags[person]
        if pflags & DISABLED:
            registered = max(pop.birth[person] + 200, today - 30 - (person * 7919) % 7000)
            if "disability.registered" in wanted:
                yield person, "disability.registered", "true", registered, None
            if "disability.severity" in wanted:
                severity = "severe" if pflags & SEVERE else "not_severe"
                yield person, "disability.severity", severity, registered, None
        if "basic_pension.recipient" in wanted and mask & BIT["MOHW-BASIC-PENSION"]:
            eligible = min(today - 1, pop.birth[person] + int(65 * YEAR) + 30)
            yield person, "basic_pension.recipient", "true", eligible, None
        if "income.band" in wanted and band <= 100 and age >= 18:
            surveyed = today - 1 - (household * 31) % 365
            yield person, "income.band", str(band), surveyed, None
        if "health_insurance.payment_status" in wanted and age >= 18:
            yield from _payment(pop, person, mask, band, rng)


def _payment(
    pop: Population, person: int, mask: int, band: int, rng: random.Random
) -> Iterator[Fact]:
    attribute = "health_insurance.payment_status"
    adult = pop.birth[person] + int(18 * YEAR)
    if mask & BIT["MOHW-BLS-MEDICAL"]:
        yield person, attribute, "medical_aid", max(adult, pop.since[pop.household[person]]), None
        return
    since = max(adult, pop.today - 200 - int(rng.random() * 5000))
    roll = rng.random()
    if roll < (0.12 if band <= 60 else 0.03):  # in arrears now
        behind = pop.today - 30 - int(rng.random() * 700)
        if behind > since:
            yield person, attribute, "paid", since, behind - 1
            since = behind
        yield person, attribute, "arrears", since, None
    elif roll < 0.18 and pop.today - since > 400:  # arrears in the past, settled
        behind = since + 100 + int(rng.random() * (pop.today - since - 300))
        settled = behind + 60 + int(rng.random() * 120)
        yield person, attribute, "paid", since, behind - 1
        yield person, attribute, "arrears", behind, settled - 1
        yield person, attribute, "paid", settled, None
    else:
        yield person, attribute, "paid", since, None
