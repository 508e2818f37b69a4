"""The good rows of each record kind, in canonical form, person by person.

A row is a dict of canonical field values (dates as day ordinals); the renderer turns it into
the source's columns. Planted rows carry a `planted_key` (or `planted_event`) that the writer
turns into a manifest entry once the row has its record id.
"""

from __future__ import annotations

import heapq
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from connectors.mapping import Mapping
from connectors.synthetic.entitlements import BIT, PROGRAMMES, mask_of
from connectors.synthetic.facts import facts
from connectors.synthetic.periods import SHAPES
from connectors.synthetic.planting import PlantedEnrolment, Planter
from connectors.synthetic.population import Population
from connectors.synthetic.rendering import Canonical
from schemas.catalogue import Catalogue

Good = Iterator[tuple[Canonical, bool]]
"""Canonical rows, each with whether it is protected from being the template of a bad row."""


@dataclass(frozen=True)
class Plan:
    """Everything decided before the files are written (shared read-only by the writers)."""

    pop: Population
    masks: array[int]
    """Person → natural programmes (bit mask over PROGRAMMES)."""
    catalogue: Catalogue
    planter: Planter
    programme_source: dict[str, str]
    attribute_source: dict[str, str]
    event_source: str | None


def person(pop: Population, number: int) -> Canonical:
    return {
        "rrn": pop.rrn_text(number),
        "name": pop.name(number),
        "region_code": pop.region_code(number),
        "household_id": pop.household_id(number),
    }


def enrolments(plan: Plan, mapping: Mapping, facility: str | None, rng: random.Random) -> Good:
    """The source's natural enrolments and its planted ones, in person order; for a facility's
    export only the households that facility serves."""
    pop, masks, today = plan.pop, plan.masks, plan.pop.today
    codes = [c for c in PROGRAMMES if plan.programme_source.get(c) == mapping.source]
    bits = [(BIT[c], c, SHAPES[c]) for c in codes]
    source_mask = mask_of(codes)
    planted: dict[int, list[PlantedEnrolment]] = {}
    for enrolment in plan.planter.enrolments:
        if enrolment.programme in codes and enrolment.organisation == facility:
            planted.setdefault(enrolment.person, []).append(enrolment)
    status_field = mapping.fields.get("status")
    fixed = status_field.value if status_field is not None else None
    suspended = 0.02 if status_field is not None and status_field.column else 0.0
    natural = (p for p in range(pop.size) if masks[p] & source_mask)
    for number in _merged(natural, sorted(planted)):
        mask = masks[number]
        if mask & source_mask and (
            facility is None or pop.facility(pop.household[number]) == facility
        ):
            base = person(pop, number)
            for bit, code, shape in bits:
                if not mask & bit:
                    continue
                for start, end, amount in shape(pop, number, rng):
                    status = fixed or ("ended" if end is not None and end < today else "active")
                    if status == "active" and suspended and rng.random() < suspended:
                        status = "suspended"
                    yield (
                        {
                            **base,
                            "programme": code,
                            "period_start": start,
                            "period_end": end,
                            "status": status,
                            "amount_won": amount,
                        },
                        False,
                    )
        for enrolment in planted.get(number, ()):
            end = enrolment.end
            row = person(pop, number)
            row.update(
                programme=enrolment.programme,
                period_start=enrolment.start,
                period_end=end,
                status=fixed or ("ended" if end is not None and end < today else "active"),
                amount_won=enrolment.amount,
                planted_key=enrolment.key,
            )
            yield row, True


def _merged(first: Iterator[int], second: list[int]) -> Iterator[int]:
    last = -1
    for number in heapq.merge(first, second):
        if number != last:
            yield number
            last = number


def attribute_facts(plan: Plan, mapping: Mapping, rng: random.Random) -> Good:
    pop = plan.pop
    wanted = frozenset(a for a, s in plan.attribute_source.items() if s == mapping.source)
    current, base = -1, {}
    for number, attribute, value, valid_from, valid_to in facts(pop, plan.masks, wanted, rng):
        if number != current:
            current, base = number, person(pop, number)
        yield (
            {
                **base,
                "attribute": attribute,
                "value": value,
                "valid_from": valid_from,
                "valid_to": valid_to,
            },
            False,
        )


def events(plan: Plan, mapping: Mapping) -> Good:
    """Civil-status events; unlike planted enrolments they may be templates of bad rows (every
    event is listed in the manifest by its own id anyway)."""
    if plan.event_source != mapping.source:
        return
    for event in plan.planter.events:
        row = person(plan.pop, event.person)
        row.update(
            type=event.type.value,
            effective_date=event.effective,
            new_region_code=event.new_region,
            planted_event=event,
        )
        yield row, False
