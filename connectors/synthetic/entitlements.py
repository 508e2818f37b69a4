"""Who receives what: each person's programmes, decided once from the population.

Eligibility follows the programmes' published criteria roughly (BLS benefits for recipient
households, 가정양육수당 or 보육료 for infants, 노인돌봄 for people over 65, employment
programmes for working age, rental housing for low incomes, private support from the welfare
centres of 노원구 and 아라동, ...).

The natural population never breaks a duplicate rule: programmes that a rule pairs are
alternatives of one choice (one rental dwelling per household, one publicly funded job per
person, 보육료 or 양육수당 per child, ...). Every duplicate in the files is therefore a planted
one, and the manifest is the complete list of findings a scan must report. Reserved households
(those the planted cases use) get no natural enrolment in any programme a rule names.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable

from connectors.synthetic import korea
from connectors.synthetic.population import (
    BLS,
    DISABLED,
    DISTRICT_HEATING,
    MERIT,
    NEAR_POVERTY,
    RENTING,
    RESERVED,
    SEVERE,
    SINGLE_PARENT,
    YEAR,
    Population,
    seeded,
)

PROGRAMMES: tuple[str, ...] = (
    "MOHW-BLS-LIVELIHOOD", "MOHW-BLS-MEDICAL", "MOHW-BLS-HOUSING", "MOHW-BLS-EDUCATION",
    "MOHW-NEAR-POVERTY-COPAY", "MOHW-NEAR-POVERTY-DISABILITY", "MOHW-NEAR-POVERTY-SELF-SUPPORT",
    "MOHW-EMERGENCY-SUPPORT", "MOHW-SELF-SUPPORT-WORK", "MOHW-CHILDCARE-FEE",
    "MOHW-HOME-CHILDCARE-ALLOWANCE", "MOHW-DREAM-START", "MOHW-BASIC-PENSION",
    "MOHW-ELDERLY-CARE-BASIC", "MOHW-LONG-TERM-CARE", "MOHW-RETIREMENT-PREP",
    "MOHW-DISABILITY-PENSION", "MOHW-DISABILITY-ACTIVITY-SUPPORT", "MOHW-VISITING-HEALTH",
    "MOHW-MEDICAL-AID-CASE-MGMT",
    "MOEL-EMPLOYMENT-SUCCESS", "MOEL-NATIONAL-EMPLOYMENT-SUPPORT", "MOEL-LEARNING-CARD",
    "MOLIT-PERMANENT-RENTAL", "MOLIT-NATIONAL-RENTAL", "MOLIT-PUBLIC-RENTAL",
    "MOLIT-PURCHASE-RENTAL", "MOLIT-LONG-TERM-JEONSE", "MOLIT-YOUTH-RENT",
    "MOLIT-GREENBELT-RESIDENT-SUPPORT",
    "MOGEF-CHILD-CARE-SERVICE", "MOGEF-SINGLE-PARENT-CHILD-SUPPORT",
    "MPVA-TUITION", "MPVA-PROSTHESIS", "MPVA-HONOUR-ALLOWANCE", "MPVA-VETERAN-HOME-CARE",
    "MOE-EDUCATION-EXPENSE", "MOE-AFTER-SCHOOL-VOUCHER", "MOE-NATIONAL-SCHOLARSHIP",
    "MCST-CULTURE-NURI-CARD", "MCST-TRAVEL-VOUCHER", "MCST-SPORTS-VOUCHER",
    "MOTIE-ENERGY-VOUCHER", "MOTIE-HEAT-CHARGE-REDUCTION", "MOTIE-ELECTRICITY-DISCOUNT",
    "KFS-FOREST-TENDING", "KFS-FOREST-WELFARE-VOUCHER",
    "MAFRA-FOOD-VOUCHER", "MAFRA-FARMLAND-PENSION",
    "MOIS-PUBLIC-WORK",
    "PRIV-FOOD", "PRIV-CASH", "PRIV-GOODS", "PRIV-SERVICE",
)  # fmt: skip
BIT = {code: 1 << i for i, code in enumerate(PROGRAMMES)}
_B = BIT  # short alias for the tables below


def mask_of(codes: Iterable[str | None]) -> int:
    """The bit mask of the given programme codes (codes outside PROGRAMMES are ignored)."""
    return sum(BIT.get(code, 0) for code in set(codes) if code is not None)


_RENTALS = (
    "MOLIT-PERMANENT-RENTAL", "MOLIT-PURCHASE-RENTAL", "MOLIT-NATIONAL-RENTAL",
    "MOLIT-PUBLIC-RENTAL", "MOLIT-LONG-TERM-JEONSE",
)  # fmt: skip
_JOBS = (
    ("KFS-FOREST-TENDING", 0.25), ("MOIS-PUBLIC-WORK", 0.35),
    ("MOEL-EMPLOYMENT-SUCCESS", 0.2), ("MOEL-NATIONAL-EMPLOYMENT-SUPPORT", 0.2),
)  # fmt: skip


def _pick(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> int:
    roll = rng.random()
    for code, share in choices:
        if roll < share:
            return _B[code]
        roll -= share
    return 0


def assign(pop: Population, rule_programmes: int) -> array[int]:
    """Every person's natural programmes as a bit mask over PROGRAMMES."""
    rng = seeded(pop.seed, "entitlements")
    masks = array("Q", bytes(8 * pop.size))
    rural = {i for i, code in enumerate(pop.regions) if code in korea.RURAL}
    for household in range(pop.households):
        members = pop.members(household)
        flags, band = pop.household_flags[household], pop.band[household]
        poor = flags & (BLS | NEAR_POVERTY)
        ages = [int((pop.today - pop.birth[p]) / YEAR) for p in members]
        head = members.start
        merit_parent = any(
            pop.person_flags[p] & MERIT and 30 <= a <= 64
            for p, a in zip(members, ages, strict=True)
        )
        masks[head] |= _household_programmes(pop, rng, household, ages)
        np_copay = rng.random() < 0.8
        for person, age in zip(members, ages, strict=True):
            pflags = pop.person_flags[person]
            mask = masks[person]
            if flags & BLS:
                if band <= 32:
                    mask |= _B["MOHW-BLS-LIVELIHOOD"]
                if band <= 40:
                    mask |= _B["MOHW-BLS-MEDICAL"]
                    if age >= 40 and rng.random() < 0.15:
                        mask |= _B["MOHW-MEDICAL-AID-CASE-MGMT"]
                if 7 <= age <= 18:
                    mask |= _B["MOHW-BLS-EDUCATION"]
            elif flags & NEAR_POVERTY:
                if np_copay:
                    mask |= _B["MOHW-NEAR-POVERTY-COPAY"]
                if pflags & DISABLED and not pflags & SEVERE and age >= 18:
                    mask |= _B["MOHW-NEAR-POVERTY-DISABILITY"]
                if 18 <= age <= 64 and rng.random() < 0.08:
                    mask |= _B["MOHW-NEAR-POVERTY-SELF-SUPPORT"]
            if age <= 18:
                mask |= _young(rng, age, flags, band, person == head, merit_parent)
            elif age <= 64:
                mask |= _working_age(rng, age, flags, band, pflags)
            else:
                mask |= _elderly(rng, age, band, pflags, len(members) == 1, mask)
                if pop.region[person] in rural and rng.random() < 0.06:
                    mask |= _B["MAFRA-FARMLAND-PENSION"]
            if pflags & SEVERE and 6 <= age <= 64 and rng.random() < 0.45:
                mask |= _B["MOHW-DISABILITY-ACTIVITY-SUPPORT"]
            if pflags & MERIT and rng.random() < 0.1:
                mask |= _B["MPVA-PROSTHESIS"]
            if age >= 6 and poor and rng.random() < 0.85:
                mask |= _B["MCST-CULTURE-NURI-CARD"]
            elif age >= 30 and band <= 70 and rng.random() < 0.04:
                mask |= _B["MCST-TRAVEL-VOUCHER"]
            if age >= 19 and (poor or band <= 60) and rng.random() < 0.08:
                mask |= _B["KFS-FOREST-WELFARE-VOUCHER"]
            if flags & RESERVED:
                mask &= ~rule_programmes
            masks[person] = mask
    return masks


def _household_programmes(
    pop: Population, rng: random.Random, household: int, ages: list[int]
) -> int:
    """Programmes a household receives once, through its head."""
    flags, band = pop.household_flags[household], pop.band[household]
    poor = flags & (BLS | NEAR_POVERTY)
    mask = 0
    if flags & BLS and flags & RENTING and band <= 45:
        mask |= _B["MOHW-BLS-HOUSING"]
    if not flags & BLS and band <= 75 and rng.random() < 0.03:
        mask |= _B["MOHW-EMERGENCY-SUPPORT"]
    roll = rng.random()
    if flags & BLS:
        mask |= _B[_RENTALS[0]] if roll < 0.35 else _B[_RENTALS[1]] if roll < 0.5 else 0
        mask |= _B[_RENTALS[2]] if 0.5 <= roll < 0.6 else 0
    elif flags & NEAR_POVERTY:
        mask |= _B[_RENTALS[2]] if roll < 0.15 else _B[_RENTALS[1]] if roll < 0.3 else 0
        mask |= _B[_RENTALS[3]] if 0.3 <= roll < 0.38 else 0
    elif flags & RENTING and band <= 100 and roll < 0.07:
        mask |= _B[_RENTALS[2] if roll < 0.03 else _RENTALS[3] if roll < 0.05 else _RENTALS[4]]
    elif len(ages) == 1 and 19 <= ages[0] <= 34 and band <= 60 and rng.random() < 0.3:
        mask |= _B["MOLIT-YOUTH-RENT"]
    if rng.random() < 0.003:
        mask |= _B["MOLIT-GREENBELT-RESIDENT-SUPPORT"]
    elderly = any(a >= 65 for a in ages)
    children = sum(1 for a in ages if a < 19)
    disabled = any(pop.person_flags[p] & DISABLED for p in pop.members(household))
    roll = rng.random()
    if poor and roll < 0.55:
        mask |= _B["MOTIE-ENERGY-VOUCHER"]
    elif flags & DISTRICT_HEATING and (poor or ((disabled or elderly) and band <= 80)):
        mask |= _B["MOTIE-HEAT-CHARGE-REDUCTION"] if roll < 0.75 else 0
    if (poor or disabled or children >= 3 or (elderly and band <= 80)) and rng.random() < 0.5:
        mask |= _B["MOTIE-ELECTRICITY-DISCOUNT"]
    if poor and (children or elderly) and rng.random() < 0.4:
        mask |= _B["MAFRA-FOOD-VOUCHER"]
    if pop.facility(household) and (poor or band <= 90) and rng.random() < 0.5:
        kinds = ("PRIV-FOOD", "PRIV-CASH", "PRIV-GOODS", "PRIV-SERVICE")
        chosen = [c for c in kinds if rng.random() < 0.45] or [rng.choice(kinds)]
        mask |= mask_of(chosen)
    return mask


def _young(rng: random.Random, age: int, flags: int, band: int, head: bool, merit: bool) -> int:
    poor = flags & (BLS | NEAR_POVERTY)
    mask = 0
    if age <= 5:
        prefers_fee = rng.random() < (0.2 if age == 0 else 0.8)
        mask |= _B["MOHW-CHILDCARE-FEE" if prefers_fee else "MOHW-HOME-CHILDCARE-ALLOWANCE"]
    elif age <= 9 and rng.random() < 0.7:
        mask |= _B["MOHW-CHILDCARE-FEE"]  # ended when school began
    if age <= 12:
        if (poor or band <= 60) and rng.random() < 0.35:
            mask |= _B["MOHW-DREAM-START"]
        if not flags & BLS and rng.random() < 0.1:
            mask |= _B["MOGEF-CHILD-CARE-SERVICE"]
    if flags & SINGLE_PARENT and band <= 63 and not head and age <= 17:
        mask |= _B["MOGEF-SINGLE-PARENT-CHILD-SUPPORT"]
    if 7 <= age <= 18:
        if merit and not flags & BLS:
            mask |= _B["MPVA-TUITION"]
        roll = rng.random()
        if band <= 60 and roll < 0.7:
            mask |= _B["MOE-EDUCATION-EXPENSE"]
        elif band <= 90 and roll < 0.45:
            mask |= _B["MOE-AFTER-SCHOOL-VOUCHER"]
    if age >= 5 and (poor or band <= 60) and rng.random() < 0.4:
        mask |= _B["MCST-SPORTS-VOUCHER"]
    return mask


def _working_age(rng: random.Random, age: int, flags: int, band: int, pflags: int) -> int:
    poor = flags & (BLS | NEAR_POVERTY)
    mask = 0
    if not pflags & SEVERE:
        if poor and rng.random() < 0.3:
            mask |= _B["MOHW-SELF-SUPPORT-WORK"]
        elif band <= 100 and rng.random() < 0.05:
            mask |= _pick(rng, _JOBS)
        elif rng.random() < 0.012:
            mask |= _B["MOEL-NATIONAL-EMPLOYMENT-SUPPORT"]
    if rng.random() < 0.12:
        mask |= _B["MOEL-LEARNING-CARD"]
    if age <= 24 and band <= 200 and rng.random() < 0.45:
        mask |= _B["MOE-NATIONAL-SCHOLARSHIP"]
    if pflags & SEVERE and band <= 80:
        mask |= _B["MOHW-DISABILITY-PENSION"]
    if age >= 50 and rng.random() < 0.03:
        mask |= _B["MOHW-RETIREMENT-PREP"]
    return mask


def _elderly(rng: random.Random, age: int, band: int, pflags: int, alone: bool, mask: int) -> int:
    """Programmes of a person over 65 (`mask`: what they already get)."""
    extra = 0
    roll = rng.random()
    if age >= 75 and roll < 0.12:
        extra |= _B["MOHW-LONG-TERM-CARE"]
    elif alone and band <= 100 and roll < 0.47:
        extra |= _B["MOHW-ELDERLY-CARE-BASIC"]
    elif pflags & MERIT and roll < 0.6:
        extra |= _B["MPVA-VETERAN-HOME-CARE"]
    if band <= 130:
        extra |= _B["MOHW-BASIC-PENSION"]
    if not mask & _B["MOHW-BLS-MEDICAL"] and rng.random() < 0.1:
        extra |= _B["MOHW-VISITING-HEALTH"]
    if pflags & MERIT:
        extra |= _B["MPVA-HONOUR-ALLOWANCE"]
    return extra
