"""The requirement engine over hand-built profiles: each requirement kind met, not met and
unknown; `any_of` in three-valued logic; and every shipped programme's requirements evaluate
without error over profiles from nothing known to everything known."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from hub.eligibility.requirements import Outcome, Profile, age_on, evaluate, evaluate_one
from schemas.catalogue import load_catalogue
from schemas.programme import Requirement

TODAY = dt.date(2026, 11, 23)
REQUIREMENT: TypeAdapter[Requirement] = TypeAdapter(Requirement)
PROGRAMMES = list(load_catalogue().programmes.values())


def req(**data: object) -> Requirement:
    return REQUIREMENT.validate_python(data)


@pytest.mark.parametrize(
    ("born", "day", "years"),
    [
        (dt.date(2000, 11, 23), TODAY, 26),
        (dt.date(2000, 11, 24), TODAY, 25),
        (dt.date(2000, 2, 29), dt.date(2026, 2, 28), 25),
        (dt.date(2000, 2, 29), dt.date(2026, 3, 1), 26),
    ],
)
def test_age_in_full_years(born: dt.date, day: dt.date, years: int) -> None:
    assert age_on(born, day) == years


CASES = [
    # (requirement, profile, outcome)
    (req(kind="age", min=65), Profile(TODAY, birth_date=dt.date(1961, 11, 23)), Outcome.MET),
    (req(kind="age", min=65), Profile(TODAY, birth_date=dt.date(1961, 11, 24)), Outcome.NOT_MET),
    (req(kind="age", max=12), Profile(TODAY), Outcome.UNKNOWN),
    (
        req(kind="household_member_age", max=12),
        Profile(TODAY, household_birth_dates=(dt.date(1980, 1, 1), dt.date(2015, 1, 1))),
        Outcome.MET,
    ),
    (
        req(kind="household_member_age", max=12),
        Profile(TODAY, household_birth_dates=(dt.date(1980, 1, 1),)),
        Outcome.NOT_MET,
    ),
    (req(kind="household_member_age", max=12), Profile(TODAY), Outcome.UNKNOWN),
    (
        req(kind="attribute", attribute="disability.registered", equals=True),
        Profile(TODAY, facts={"disability.registered": frozenset({True})}),
        Outcome.MET,
    ),
    (
        req(kind="attribute", attribute="disability.registered", equals=True),
        Profile(TODAY, facts={"disability.registered": frozenset({False})}),
        Outcome.NOT_MET,
    ),
    (
        req(kind="attribute", attribute="disability.registered", equals=True),
        Profile(TODAY),
        Outcome.UNKNOWN,
    ),
    # A complete register that lists no value: a yes/no attribute is false.
    (
        req(kind="attribute", attribute="basic_livelihood.recipient", equals=True),
        Profile(TODAY, complete=frozenset({"basic_livelihood.recipient"})),
        Outcome.NOT_MET,
    ),
    (
        req(kind="attribute", attribute="basic_livelihood.recipient", equals=False),
        Profile(TODAY, complete=frozenset({"basic_livelihood.recipient"})),
        Outcome.MET,
    ),
    (
        req(
            kind="attribute_in", attribute="basic_livelihood.benefit", values=["medical", "housing"]
        ),
        Profile(TODAY, facts={"basic_livelihood.benefit": frozenset({"livelihood", "housing"})}),
        Outcome.MET,
    ),
    (
        req(kind="attribute_in", attribute="basic_livelihood.benefit", values=["medical"]),
        Profile(TODAY, facts={"basic_livelihood.benefit": frozenset({"livelihood"})}),
        Outcome.NOT_MET,
    ),
    (
        req(kind="income_band_at_most", band=50),
        Profile(TODAY, facts={"income.band": frozenset({50})}),
        Outcome.MET,
    ),
    (
        req(kind="income_band_at_most", band=50),
        Profile(TODAY, facts={"income.band": frozenset({51})}),
        Outcome.NOT_MET,
    ),
    (req(kind="income_band_at_most", band=50), Profile(TODAY), Outcome.UNKNOWN),
    (req(kind="region", codes=["11"]), Profile(TODAY, region_code="11350"), Outcome.MET),
    (
        req(kind="region", codes=["50", "11350"]),
        Profile(TODAY, region_code="11440"),
        Outcome.NOT_MET,
    ),
    (req(kind="region", codes=["11"]), Profile(TODAY), Outcome.UNKNOWN),
]


@pytest.mark.parametrize(("requirement", "profile", "outcome"), CASES)
def test_each_requirement_kind(
    requirement: Requirement, profile: Profile, outcome: Outcome
) -> None:
    finding = evaluate_one(profile, requirement)
    assert finding.outcome is outcome
    assert finding.reason


ANY_OF = req(
    kind="any_of",
    requirements=[
        {"kind": "attribute", "attribute": "disability.registered", "equals": True},
        {"kind": "age", "min": 65},
    ],
)


@pytest.mark.parametrize(
    ("disabled", "born", "outcome"),
    [
        (True, None, Outcome.MET),  # one alternative holds: the unknown one does not matter
        (False, dt.date(1950, 1, 1), Outcome.MET),
        (False, dt.date(1990, 1, 1), Outcome.NOT_MET),
        (False, None, Outcome.UNKNOWN),
        (None, dt.date(1990, 1, 1), Outcome.UNKNOWN),
    ],
)
def test_any_of_is_kleene_or(disabled: bool | None, born: dt.date | None, outcome: Outcome) -> None:
    facts = {} if disabled is None else {"disability.registered": frozenset({disabled})}
    assert evaluate_one(Profile(TODAY, birth_date=born, facts=facts), ANY_OF).outcome is outcome


def test_a_judgement_fails_on_any_failure_and_recommends_only_with_something_met() -> None:
    requirements = [req(kind="age", min=65), req(kind="region", codes=["11"])]
    old_in_seoul = evaluate(
        Profile(TODAY, birth_date=dt.date(1950, 1, 1), region_code="11350"), requirements
    )
    assert old_in_seoul.outcome is Outcome.MET
    assert old_in_seoul.appears_eligible
    old_somewhere = evaluate(Profile(TODAY, birth_date=dt.date(1950, 1, 1)), requirements)
    assert old_somewhere.outcome is Outcome.UNKNOWN
    assert old_somewhere.appears_eligible
    assert [f.reason for f in old_somewhere.unknown] == [
        "the region of residence is not known to the hub"
    ]
    young = evaluate(
        Profile(TODAY, birth_date=dt.date(2000, 1, 1), region_code="11350"), requirements
    )
    assert young.outcome is Outcome.NOT_MET
    assert not young.appears_eligible
    nothing_known = evaluate(Profile(TODAY), requirements)
    assert nothing_known.outcome is Outcome.UNKNOWN
    assert not nothing_known.appears_eligible


BIRTHS = st.one_of(st.none(), st.dates(dt.date(1920, 1, 1), TODAY))


@given(
    born=BIRTHS,
    household=st.one_of(st.none(), st.lists(st.dates(dt.date(1920, 1, 1), TODAY), max_size=5)),
    region=st.one_of(st.none(), st.sampled_from(["11350", "26110", "50110", "41135"])),
    band=st.one_of(st.none(), st.integers(1, 300)),
    flags=st.dictionaries(
        st.sampled_from(
            ["disability.registered", "single_parent_family", "national_merit", "near_poverty"]
        ),
        st.booleans(),
    ),
)
def test_every_shipped_programme_evaluates_and_knowing_more_never_flips_a_known_outcome(
    born: dt.date | None,
    household: list[dt.date] | None,
    region: str | None,
    band: int | None,
    flags: dict[str, bool],
) -> None:
    """Monotonicity of three-valued logic: adding knowledge turns unknowns into met or not met
    but never changes an outcome that was already known."""
    facts = {name: frozenset({value}) for name, value in flags.items()}
    if band is not None:
        facts["income.band"] = frozenset({band})
    full = Profile(
        TODAY,
        birth_date=born,
        region_code=region,
        household_birth_dates=None if household is None else tuple(household),
        facts=facts,
    )
    less = Profile(TODAY, birth_date=born)
    for programme in PROGRAMMES:
        for requirement in programme.requirements:
            before = evaluate_one(less, requirement).outcome
            after = evaluate_one(full, requirement).outcome
            if before is not Outcome.UNKNOWN:
                assert after is before, (programme.code, requirement)
