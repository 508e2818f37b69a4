"""The requirement engine: does a person appear to meet a programme's requirements?

Pure: a programme's `requirements` (catalogue rule data, all of which must hold; `any_of` for
alternatives) are evaluated over a `Profile` of what the hub knows, in three-valued logic
(Kleene): each requirement is met, not met, or cannot be judged from the data the hub holds.
복지알림이 recommends a programme only when nothing is known to fail, and lists what it could
not judge, so the person can be told what to bring when applying.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from schemas.programme import (
    AgeRequirement,
    AnyOfRequirement,
    AttributeInRequirement,
    AttributeRequirement,
    HouseholdMemberAgeRequirement,
    IncomeBandRequirement,
    RegionRequirement,
    Requirement,
)

Value = bool | int | str


class Outcome(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Profile:
    """What the hub knows about a person on `as_of`.

    `facts` maps an attribute to the values the person holds on that day. An attribute missing
    from `facts` is unknown, unless it is in `complete`: attributes whose authoritative register
    the hub holds in full (e.g. basic-livelihood status, derived from MOHW's enrolments), where
    holding no value means the person does not have it (false for a yes/no attribute).
    """

    as_of: dt.date
    birth_date: dt.date | None = None
    region_code: str | None = None
    household_birth_dates: tuple[dt.date, ...] | None = None
    """Birth dates of the household's members, the person included; None if not known."""
    facts: Mapping[str, frozenset[Value]] = field(default_factory=dict)
    complete: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    """One requirement's outcome with the reason, in words an adviser can read out."""

    outcome: Outcome
    reason: str


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Age in full years on `day` (만 나이, 민법 §158)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def _bounds(requirement: AgeRequirement | HouseholdMemberAgeRequirement) -> str:
    if requirement.min is not None and requirement.max is not None:
        return f"{requirement.min}–{requirement.max}"
    if requirement.min is not None:
        return f"{requirement.min} or over"
    return f"{requirement.max} or under"


def _values(profile: Profile, attribute: str) -> frozenset[Value] | None:
    """The values held, an empty set when a complete register holds none, None if unknown."""
    held = profile.facts.get(attribute)
    if held:
        return held
    return frozenset() if attribute in profile.complete else None


def _attribute(profile: Profile, requirement: AttributeRequirement) -> Finding:
    name, wanted = requirement.attribute, requirement.equals
    held = _values(profile, name)
    if held is None:
        return Finding(Outcome.UNKNOWN, f"{name} is not known to the hub")
    if isinstance(wanted, bool) and not held:
        held = frozenset({False})  # a complete register that lists no one: false
    met = wanted in held
    return Finding(
        Outcome.MET if met else Outcome.NOT_MET,
        f"{name} is {str(wanted).lower()}" if met else f"{name} is not {str(wanted).lower()}",
    )


def _attribute_in(profile: Profile, requirement: AttributeInRequirement) -> Finding:
    name, wanted = requirement.attribute, set(requirement.values)
    held = _values(profile, name)
    if held is None:
        return Finding(Outcome.UNKNOWN, f"{name} is not known to the hub")
    listed = ", ".join(requirement.values)
    if held & wanted:
        return Finding(Outcome.MET, f"{name} is one of {listed}")
    return Finding(Outcome.NOT_MET, f"{name} is none of {listed}")


def _age(profile: Profile, requirement: AgeRequirement) -> Finding:
    if profile.birth_date is None:
        return Finding(Outcome.UNKNOWN, "the age is not known to the hub")
    years = age_on(profile.birth_date, profile.as_of)
    met = requirement.contains(years)
    verb = "is" if met else "is not"
    return Finding(Outcome.MET if met else Outcome.NOT_MET, f"age {verb} {_bounds(requirement)}")


def _household_age(profile: Profile, requirement: HouseholdMemberAgeRequirement) -> Finding:
    if profile.household_birth_dates is None:
        return Finding(Outcome.UNKNOWN, "the household is not known to the hub")
    met = any(
        requirement.contains(age_on(born, profile.as_of)) for born in profile.household_birth_dates
    )
    bounds = _bounds(requirement)
    if met:
        return Finding(Outcome.MET, f"a household member's age is {bounds}")
    return Finding(Outcome.NOT_MET, f"no household member's age is {bounds}")


def _income(profile: Profile, requirement: IncomeBandRequirement) -> Finding:
    held = _values(profile, "income.band")
    bands = [v for v in held or () if isinstance(v, int) and not isinstance(v, bool)]
    if not bands:
        return Finding(Outcome.UNKNOWN, "the household income band is not known to the hub")
    met = min(bands) <= requirement.band
    verb = "is" if met else "is not"
    return Finding(
        Outcome.MET if met else Outcome.NOT_MET,
        f"household income {verb} within {requirement.band}% of 기준중위소득",
    )


def _region(profile: Profile, requirement: RegionRequirement) -> Finding:
    if profile.region_code is None:
        return Finding(Outcome.UNKNOWN, "the region of residence is not known to the hub")
    met = requirement.contains(profile.region_code)
    verb = "lives" if met else "does not live"
    return Finding(
        Outcome.MET if met else Outcome.NOT_MET,
        f"{verb} in {', '.join(requirement.codes)}",
    )


def _any_of(profile: Profile, requirement: AnyOfRequirement) -> Finding:
    findings = [evaluate_one(profile, r) for r in requirement.requirements]
    for finding in findings:
        if finding.outcome is Outcome.MET:
            return finding
    if any(f.outcome is Outcome.UNKNOWN for f in findings):
        unknown = "; ".join(f.reason for f in findings if f.outcome is Outcome.UNKNOWN)
        return Finding(Outcome.UNKNOWN, f"none of the alternatives is known to hold ({unknown})")
    return Finding(
        Outcome.NOT_MET,
        "none of the alternatives holds (" + "; ".join(f.reason for f in findings) + ")",
    )


def evaluate_one(profile: Profile, requirement: Requirement) -> Finding:
    """One requirement's outcome."""
    if isinstance(requirement, AttributeRequirement):
        return _attribute(profile, requirement)
    if isinstance(requirement, AttributeInRequirement):
        return _attribute_in(profile, requirement)
    if isinstance(requirement, AgeRequirement):
        return _age(profile, requirement)
    if isinstance(requirement, HouseholdMemberAgeRequirement):
        return _household_age(profile, requirement)
    if isinstance(requirement, IncomeBandRequirement):
        return _income(profile, requirement)
    if isinstance(requirement, RegionRequirement):
        return _region(profile, requirement)
    return _any_of(profile, requirement)


@dataclass(frozen=True)
class Judgement:
    """All of a programme's requirements over one profile."""

    met: tuple[Finding, ...]
    not_met: tuple[Finding, ...]
    unknown: tuple[Finding, ...]

    @property
    def outcome(self) -> Outcome:
        """NOT_MET if any requirement fails, else UNKNOWN if any cannot be judged, else MET."""
        if self.not_met:
            return Outcome.NOT_MET
        return Outcome.UNKNOWN if self.unknown else Outcome.MET

    @property
    def appears_eligible(self) -> bool:
        """Worth recommending: nothing known to fail, and at least one requirement known to
        hold (a programme the hub can say nothing about is not a recommendation)."""
        return not self.not_met and bool(self.met)


def evaluate(profile: Profile, requirements: Sequence[Requirement]) -> Judgement:
    """Every requirement (all must hold) over the profile."""
    findings = [evaluate_one(profile, r) for r in requirements]
    return Judgement(
        met=tuple(f for f in findings if f.outcome is Outcome.MET),
        not_met=tuple(f for f in findings if f.outcome is Outcome.NOT_MET),
        unknown=tuple(f for f in findings if f.outcome is Outcome.UNKNOWN),
    )
