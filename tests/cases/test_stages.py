"""The stage rules and deadlines of hub.cases.stages, as tables (pure: no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.cases.stages import (
    CaseRuleBroken,
    Facts,
    Step,
    add_months,
    check_move,
    deadlines,
    next_due,
)
from schemas.case import STAGE_ORDER, CaseType, ClosureCode, HouseholdClass, PlanItem, Stage

S = Stage
D0 = dt.date(2025, 3, 3)
ITEM = PlanItem(goal="g", provider="p", content="c", frequency="f")
APPROVED = ITEM.model_copy(update={"approved_by": "lead-1", "approved_on": D0})


def at(*stages: Stage, **facts: object) -> Facts:
    """A case that went through `stages` a day apart from D0."""
    steps = tuple(Step(stage, D0 + dt.timedelta(days=i)) for i, stage in enumerate(stages))
    return Facts(steps=steps, **facts)  # type: ignore[arg-type]


UP_TO = {stage: STAGE_ORDER[: i + 1] for i, stage in enumerate(STAGE_ORDER)}
READY = {
    "assessed_on": D0 + dt.timedelta(days=4),
    "household_class": HouseholdClass.CASE_MANAGEMENT,
    "case_type": CaseType.GENERAL,
    "plan": (APPROVED,),
}
LATER = D0 + dt.timedelta(days=30)


@pytest.mark.parametrize("index", range(8))
def test_each_stage_follows_the_one_before_when_its_needs_are_met(index: int) -> None:
    here, to = STAGE_ORDER[index], STAGE_ORDER[index + 1]
    code = ClosureCode.GOAL_MET if to is S.CLOSURE else None
    check_move(at(*UP_TO[here], **READY), to, LATER, code)


@pytest.mark.parametrize(
    ("facts", "to", "closure", "rule"),
    [
        (at(*UP_TO[S.INTAKE]), S.CLOSURE, None, "closure-needs-code"),
        (at(*UP_TO[S.SERVICE], **READY), S.CLOSURE, None, "closure-needs-code"),
        (at(*UP_TO[S.INTAKE]), S.CONFERENCE, None, "assessment-not-skipped"),
        (at(*UP_TO[S.INITIAL_CONSULTATION]), S.PLANNING, None, "assessment-not-skipped"),
        (at(*UP_TO[S.ASSESSMENT], **READY), S.CLASSIFICATION, None, "stages-in-order"),
        (at(*UP_TO[S.DISCOVERY]), S.INTAKE, None, "stages-in-order"),
        (at(*UP_TO[S.SERVICE], **READY), S.PLANNING, None, "stages-in-order"),
        (at(*UP_TO[S.DISCOVERY]), S.CLOSURE, ClosureCode.REFUSAL, "stages-in-order"),
        (
            at(*UP_TO[S.PLANNING], **READY),
            S.CLOSURE,
            ClosureCode.GOAL_MET,
            "goal-closure-after-service",
        ),
        (at(*UP_TO[S.INTAKE]), S.CLOSURE, ClosureCode.IMPROVED, "goal-closure-after-service"),
        (at(*UP_TO[S.ASSESSMENT]), S.CONFERENCE, None, "conference-needs-assessment"),
        (
            at(*UP_TO[S.ASSESSMENT], assessed_on=D0 - dt.timedelta(days=1)),
            S.CONFERENCE,
            None,
            "conference-needs-assessment",
        ),
        (at(*UP_TO[S.CONFERENCE]), S.CLASSIFICATION, None, "classification-needs-household-class"),
        (
            at(
                *UP_TO[S.CLASSIFICATION],
                household_class=HouseholdClass.NOT_SELECTED,
                class_reason="r",
            ),
            S.PLANNING,
            None,
            "not-selected-no-plan",
        ),
        (
            at(
                *UP_TO[S.CLASSIFICATION],
                household_class=HouseholdClass.CASE_MANAGEMENT,
                plan=(ITEM,),
            ),
            S.PLANNING,
            None,
            "planning-needs-case-type",
        ),
        (
            at(*UP_TO[S.CLASSIFICATION], household_class=HouseholdClass.SERVICE_LINKAGE),
            S.PLANNING,
            None,
            "planning-needs-plan-items",
        ),
        (
            at(*UP_TO[S.PLANNING], plan=(APPROVED, ITEM)),
            S.SERVICE,
            None,
            "service-needs-approved-plan",
        ),
        (at(*UP_TO[S.SERVICE]), S.FOLLOW_UP, None, "follow-up-after-closure"),
        (
            at(*UP_TO[S.CLOSURE], closure_code=ClosureCode.GOAL_MET),
            S.SERVICE,
            None,
            "closed-case-is-final",
        ),
        (
            at(*UP_TO[S.FOLLOW_UP], S.FOLLOW_UP, closure_code=ClosureCode.GOAL_MET),
            S.FOLLOW_UP,
            None,
            "follow-up-twice",
        ),
        (
            at(*UP_TO[S.CLOSURE], closure_code=ClosureCode.DEATH),
            S.FOLLOW_UP,
            None,
            "no-follow-up-after-death-or-move",
        ),
    ],
)
def test_a_move_the_rules_forbid_raises_naming_the_rule(
    facts: Facts, to: Stage, closure: ClosureCode | None, rule: str
) -> None:
    with pytest.raises(CaseRuleBroken) as raised:
        check_move(facts, to, LATER, closure)
    assert raised.value.extensions["rule"] == rule
    assert raised.value.status == 409
    assert rule in raised.value.detail


def test_a_move_dated_before_the_current_stage_is_refused() -> None:
    with pytest.raises(CaseRuleBroken) as raised:
        check_move(at(S.DISCOVERY), S.INITIAL_CONSULTATION, D0 - dt.timedelta(days=1), None)
    assert raised.value.extensions["rule"] == "stage-dates-in-order"


@pytest.mark.parametrize("here", [S.CONFERENCE, S.CLASSIFICATION, S.PLANNING, S.SERVICE])
def test_a_case_may_go_back_to_the_assessment_and_early_closure_is_open(here: Stage) -> None:
    check_move(at(*UP_TO[here], **READY), S.ASSESSMENT, LATER, None)
    check_move(at(*UP_TO[here], **READY), S.CLOSURE, LATER, ClosureCode.NO_CONTACT)


def steps(*pairs: tuple[Stage, int]) -> list[Step]:
    return [Step(stage, D0 + dt.timedelta(days=day)) for stage, day in pairs]


def test_deadlines_follow_domain_md_from_the_stage_dates() -> None:
    history = steps(
        (S.DISCOVERY, 0),
        (S.INITIAL_CONSULTATION, 7),  # late: due day 5
        (S.INTAKE, 8),
        (S.ASSESSMENT, 9),
        (S.CONFERENCE, 15),
        (S.CLASSIFICATION, 18),
    )
    found = {d.rule: d for d in deadlines(history, None)}
    day = dt.timedelta
    assert found["initial-consultation-within-5-days"].due == D0 + day(5)
    assert found["initial-consultation-within-5-days"].met_on == D0 + day(7)
    assert found["assessment-within-10-days-of-intake"].due == D0 + day(18)
    assert found["classification-within-5-days-of-conference"].due == D0 + day(20)
    plan = found["plan-within-30-days-of-intake"]
    assert plan.due == D0 + day(18 + 15)  # ≈15 days after classification, before intake + 30
    assert plan.met_on is None
    assert plan.overdue(D0 + day(34))
    assert not plan.overdue(D0 + day(33))
    assert next_due(history, None) == D0 + day(33)
    late_intake = steps((S.DISCOVERY, 0), (S.INITIAL_CONSULTATION, 1), (S.INTAKE, 2))
    late_intake += steps((S.ASSESSMENT, 3), (S.CONFERENCE, 4), (S.CLASSIFICATION, 25))
    assert {d.rule: d for d in deadlines(late_intake, None)}[
        "plan-within-30-days-of-intake"
    ].due == D0 + dt.timedelta(days=32)  # never later than 30 days from intake


def test_follow_ups_fall_six_and_twelve_months_after_closure_and_not_after_a_death() -> None:
    closed = steps((S.DISCOVERY, 0), (S.INITIAL_CONSULTATION, 1), (S.CLOSURE, 2))
    found = deadlines(closed, ClosureCode.REFUSAL)
    assert [(d.rule, d.due) for d in found] == [
        ("initial-consultation-within-5-days", D0 + dt.timedelta(days=5)),
        ("follow-up-1-at-6-months", dt.date(2025, 9, 5)),
        ("follow-up-2-at-12-months", dt.date(2026, 3, 5)),
    ]
    assert next_due(closed, ClosureCode.REFUSAL) == dt.date(2025, 9, 5)
    assert next_due(closed, ClosureCode.DEATH) is None
    assert next_due([*closed, Step(S.FOLLOW_UP, dt.date(2025, 9, 1))], ClosureCode.REFUSAL) == (
        dt.date(2026, 3, 5)
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2025, 8, 31), 6, dt.date(2026, 2, 28)),
        (dt.date(2023, 8, 31), 6, dt.date(2024, 2, 29)),
        (dt.date(2025, 12, 15), 12, dt.date(2026, 12, 15)),
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
    ],
)
def test_add_months_keeps_the_day_or_the_months_last(
    day: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(day, months) == expected
