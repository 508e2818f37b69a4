"""The stages of 통합사례관리: which moves are allowed, what each needs, and the deadlines.

Pure: the rules take the case's facts and the move, and either pass or raise `CaseRuleBroken`
naming the rule (a 409 problem with `rule`), so the same facts always give the same answer.

The order of stages and the deadlines come from DOMAIN.md ("Integrated case management"), which
follows the 통합사례관리 guidelines used under 사회보장급여법 §42의2 (통합사례관리):

* a case moves forward one stage at a time: 발굴 → 초기상담 → 접수 → 욕구·위기도 조사 →
  사례회의 → 대상자 구분·선정 → 서비스 제공계획 → 서비스 제공·점검 → 종결 → 사후확인; the one move
  back is a reassessment (재사정): from the conference, classification, planning or service
  stage back to the assessment, after which the conference and the later stages follow again;
* a case may close early from any open stage after discovery (refusal, no contact for three
  months, a move, a death) but "goal met" and "improved" presuppose services, so they close
  only from the service stage; every closure names its code;
* the conference needs the assessment's scores; the classification needs a household class,
  and 미선정 needs its reason (the client is told in writing); planning needs the plan's items,
  a case type for a 사례관리 household, and is not for a 미선정 household; services start only
  on an approved plan; a change to the plan in effect needs the person's consent again
  (hub.cases.service checks the consent's date: `plan-change-needs-renewed-consent`);
* follow-up (사후확인) comes after closure, twice at most, and not after a death or a move (the
  new 시군구 takes the case over);
* deadlines: the initial consultation within 5 days of discovery (or referral); the assessment
  ≈10 days after intake; the classification ≈5 days after the conference; the plan ≈15 days
  after the classification and never later than 30 days from intake; follow-up every six
  months after closure, twice.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from hub.kit.errors import Conflict
from schemas.case import (
    STAGE_NAMES_KO,
    STAGE_ORDER,
    CaseType,
    ClosureCode,
    HouseholdClass,
    PlanItem,
    Stage,
)

S = Stage
REASSESSED_FROM = frozenset({S.CONFERENCE, S.CLASSIFICATION, S.PLANNING, S.SERVICE})
"""Stages from which a case may go back to the assessment (재사정)."""
GOAL_CLOSURES = frozenset({ClosureCode.GOAL_MET, ClosureCode.IMPROVED})
NO_FOLLOW_UP = frozenset({ClosureCode.DEATH, ClosureCode.MOVED})
FOLLOW_UPS = 2


class CaseRuleBroken(Conflict):
    """A move or a change the stage rules do not allow; `rule` names the rule."""

    slug = "case-rule-broken"
    title = "The change breaks a case-management rule"


def broken(rule: str, why: str) -> CaseRuleBroken:
    return CaseRuleBroken(f"Rule {rule}: {why}", rule=rule)


@dataclass(frozen=True)
class Step:
    stage: Stage
    on: dt.date


@dataclass(frozen=True)
class Facts:
    """What the rules look at: the stage history (in the order recorded) and the record."""

    steps: tuple[Step, ...]
    household_class: HouseholdClass | None = None
    class_reason: str | None = None
    case_type: CaseType | None = None
    assessed_on: dt.date | None = None
    """The date of the latest needs assessment, if any."""
    plan: tuple[PlanItem, ...] = ()
    closure_code: ClosureCode | None = None

    @property
    def stage(self) -> Stage:
        return self.steps[-1].stage


def _position(stage: Stage) -> int:
    return STAGE_ORDER.index(stage)


def _name(stage: Stage) -> str:
    return f"{stage.value} ({STAGE_NAMES_KO[stage]})"


def check_record(facts: Facts) -> None:
    """Rules on the record itself, whatever the stage."""
    if facts.household_class is HouseholdClass.NOT_SELECTED and not facts.class_reason:
        raise broken(
            "not-selected-needs-reason",
            "a household classed not_selected (미선정) needs the reason recorded; the client is "
            "told it in writing.",
        )


def check_move(facts: Facts, to: Stage, on: dt.date, closure_code: ClosureCode | None) -> None:
    """Raise `CaseRuleBroken` unless the case may move from its stage to `to` on `on`."""
    here = facts.stage
    if on < facts.steps[-1].on:
        raise broken(
            "stage-dates-in-order",
            f"the move is dated {on.isoformat()}, before the current stage's date "
            f"{facts.steps[-1].on.isoformat()}.",
        )
    if here in (S.CLOSURE, S.FOLLOW_UP):
        _check_follow_up(facts, to)
        return
    if to is S.CLOSURE:
        _check_closure(here, closure_code)
        return
    if to is S.FOLLOW_UP:
        raise broken("follow-up-after-closure", "follow-up (사후확인) comes only after closure.")
    if to is S.ASSESSMENT and here in REASSESSED_FROM:
        return  # 재사정
    step = _position(to) - _position(here)
    if step != 1:
        assessment = _position(S.ASSESSMENT)
        if _position(here) < assessment < _position(to):
            raise broken(
                "assessment-not-skipped",
                f"the case is at {_name(here)}; the needs and crisis assessment cannot be skipped.",
            )
        raise broken(
            "stages-in-order",
            f"the case is at {_name(here)}; the next stage is "
            f"{_name(STAGE_ORDER[_position(here) + 1])} (or closure).",
        )
    _check_entry(facts, to)


def _check_entry(facts: Facts, to: Stage) -> None:
    """What entering `to` needs."""
    if to is S.CONFERENCE:
        entered = _latest(facts.steps, S.ASSESSMENT)
        if facts.assessed_on is None or (entered is not None and facts.assessed_on < entered.on):
            raise broken(
                "conference-needs-assessment",
                "the case conference needs the needs and crisis assessment's scores, recorded "
                "on or after the assessment began.",
            )
    elif to is S.CLASSIFICATION:
        if facts.household_class is None:
            raise broken(
                "classification-needs-household-class",
                "classification needs a household class (case_management, service_linkage or "
                "not_selected).",
            )
    elif to is S.PLANNING:
        if facts.household_class is HouseholdClass.NOT_SELECTED:
            raise broken(
                "not-selected-no-plan",
                "a household classed not_selected (미선정) gets no service plan; close the case.",
            )
        if facts.household_class is HouseholdClass.CASE_MANAGEMENT and facts.case_type is None:
            raise broken(
                "planning-needs-case-type",
                "a case_management household needs a case type (general, intensive or crisis) "
                "before planning.",
            )
        if not facts.plan:
            raise broken(
                "planning-needs-plan-items",
                "planning needs the service plan's items (goal, provider, content, frequency).",
            )
    elif to is S.SERVICE and (not facts.plan or not all(item.approved for item in facts.plan)):
        raise broken(
            "service-needs-approved-plan",
            "services start only on a service plan whose every item is approved.",
        )


def _check_closure(here: Stage, code: ClosureCode | None) -> None:
    if code is None:
        raise broken("closure-needs-code", "closing a case needs a closure code.")
    if here is S.DISCOVERY:
        raise broken(
            "stages-in-order",
            "a case is closed only after the initial consultation; at discovery there is "
            "nothing to close yet.",
        )
    if code in GOAL_CLOSURES and here is not S.SERVICE:
        raise broken(
            "goal-closure-after-service",
            f"closure code {code.value} presupposes services; the case is at {_name(here)}.",
        )


def _check_follow_up(facts: Facts, to: Stage) -> None:
    if to is not S.FOLLOW_UP:
        raise broken(
            "closed-case-is-final",
            "a closed case moves only to follow-up (사후확인); open a new case instead.",
        )
    if facts.closure_code in NO_FOLLOW_UP:
        assert facts.closure_code is not None
        raise broken(
            "no-follow-up-after-death-or-move",
            f"a case closed for {facts.closure_code.value} has no follow-up.",
        )
    done = sum(1 for step in facts.steps if step.stage is S.FOLLOW_UP)
    if done >= FOLLOW_UPS:
        raise broken("follow-up-twice", "follow-up is done twice after closure, not more.")


# -- deadlines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    rule: str
    stage: Stage
    due: dt.date
    met_on: dt.date | None

    def overdue(self, today: dt.date) -> bool:
        return self.met_on is None and self.due < today


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day if it has no such day."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _latest(steps: Sequence[Step], stage: Stage) -> Step | None:
    return next((s for s in reversed(steps) if s.stage is stage), None)


def _latest_index(steps: Sequence[Step], stage: Stage) -> int | None:
    return next((i for i in range(len(steps) - 1, -1, -1) if steps[i].stage is stage), None)


def _after(steps: Sequence[Step], start: int, stage: Stage) -> list[Step]:
    return [s for s in steps[start + 1 :] if s.stage is stage]


def deadlines(steps: Sequence[Step], closure_code: ClosureCode | None) -> list[Due]:
    """The deadlines of DOMAIN.md that apply to the case now, each with the date it was met.

    Each stage deadline runs from the latest entry into its anchor stage (so a reassessment
    restarts the conference and classification deadlines) and is met by the first entry into
    its stage after that (the assessment counts as done when the conference is entered). One
    the case closed before meeting no longer applies."""
    found: list[Due] = []
    closed = _latest_index(steps, S.CLOSURE)

    def stage_deadline(rule: str, anchor: Stage, stage: Stage, days: int) -> None:
        i = _latest_index(steps, anchor)
        if i is None:
            return
        met = _after(steps, i, stage)
        if not met and closed is not None and closed > i:
            return
        due = steps[i].on + dt.timedelta(days=days)
        if stage is S.PLANNING:
            j = _latest_index(steps, S.CLASSIFICATION)
            if j is not None and j > i:
                due = min(due, steps[j].on + dt.timedelta(days=15))
        found.append(Due(rule, stage, due, met[0].on if met else None))

    stage_deadline("initial-consultation-within-5-days", S.DISCOVERY, S.INITIAL_CONSULTATION, 5)
    stage_deadline("assessment-within-10-days-of-intake", S.INTAKE, S.CONFERENCE, 10)
    stage_deadline("classification-within-5-days-of-conference", S.CONFERENCE, S.CLASSIFICATION, 5)
    stage_deadline("plan-within-30-days-of-intake", S.INTAKE, S.PLANNING, 30)
    if closed is not None and closure_code is not None and closure_code not in NO_FOLLOW_UP:
        follow_ups = _after(steps, closed, S.FOLLOW_UP)
        for n in range(FOLLOW_UPS):
            due = add_months(steps[closed].on, 6 * (n + 1))
            met_on = follow_ups[n].on if len(follow_ups) > n else None
            found.append(
                Due(f"follow-up-{n + 1}-at-{6 * (n + 1)}-months", S.FOLLOW_UP, due, met_on)
            )
    return found


def next_due(steps: Sequence[Step], closure_code: ClosureCode | None) -> dt.date | None:
    """The earliest deadline not yet met: a case is overdue when this date has passed."""
    open_dates = [d.due for d in deadlines(steps, closure_code) if d.met_on is None]
    return min(open_dates, default=None)
