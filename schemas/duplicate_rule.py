"""Duplicate-benefit rules: pairs of programmes that must not be received together.

The pan-government linkage (2012) checks 31 pair types. Two are public: 기초보장교육급여 ↔
수업료국비지원 and 자활근로 ↔ 공공산림가꾸기; the other 29 are not, so the catalogue ships them as
clearly labelled synthetic rules (``source: synthetic``). A rule compares two enrolments of the
same person (``scope: person``) or of the same household (``scope: household``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.common import FROZEN_STRICT, LongText, ProgrammeCode, ShortText
from schemas.programme import ProgrammeCategory

RuleId = Annotated[str, Field(pattern=r"^DUP-\d{2,3}$")]


class RuleScope(StrEnum):
    """Whose enrolments a rule compares."""

    PERSON = "person"
    HOUSEHOLD = "household"


class RuleSource(StrEnum):
    """Whether a rule is one of the publicly named pair types or a synthetic stand-in."""

    REAL = "real"
    SYNTHETIC = "synthetic"


class RuleSide(BaseModel):
    """One side of a rule: a programme, or every programme of a category."""

    model_config = FROZEN_STRICT

    programme: ProgrammeCode | None = None
    category: ProgrammeCategory | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RuleSide:
        if (self.programme is None) == (self.category is None):
            raise ValueError("give exactly one of programme or category")
        return self

    @property
    def key(self) -> str:
        """A stable identity of the side, used to detect repeated pairs."""
        if self.programme is not None:
            return f"programme:{self.programme}"
        assert self.category is not None
        return f"category:{self.category.value}"


class AnyDayOverlap(BaseModel):
    """The two enrolment periods share at least one day."""

    model_config = FROZEN_STRICT

    kind: Literal["any_day"]


class SameMonthOverlap(BaseModel):
    """The two enrolment periods touch the same calendar month (monthly benefits)."""

    model_config = FROZEN_STRICT

    kind: Literal["same_month"]


class WithinDaysOverlap(BaseModel):
    """The two periods overlap or are separated by at most ``days`` days (one-off support)."""

    model_config = FROZEN_STRICT

    kind: Literal["within_days"]
    days: Annotated[int, Field(ge=1, le=366)]


Overlap = Annotated[
    AnyDayOverlap | SameMonthOverlap | WithinDaysOverlap, Field(discriminator="kind")
]


class DuplicateRule(BaseModel):
    """A duplicate-benefit pair type (duplicate_rules.yaml)."""

    model_config = FROZEN_STRICT

    id: RuleId
    name_ko: ShortText
    a: RuleSide
    b: RuleSide
    scope: RuleScope
    overlap: Overlap
    distinct_sources: bool = False
    """When true, the two enrolments count only if different organisations reported them: two
    facilities giving the same household the same kind of support (the Nowon case). This is the
    only way a rule may name the same side twice."""
    effective_from: date
    effective_until: date | None = None
    legal_reference: LongText
    source: RuleSource
    note: LongText | None = None
    """Why the rule exists; for synthetic rules, why the pair is plausible."""

    @model_validator(mode="after")
    def _well_formed(self) -> DuplicateRule:
        if self.a.key == self.b.key and not self.distinct_sources:
            raise ValueError("a and b are the same; set distinct_sources for same-kind rules")
        if self.effective_until is not None and self.effective_until < self.effective_from:
            raise ValueError("effective_until is before effective_from")
        return self

    @property
    def pair_key(self) -> tuple[frozenset[str], RuleScope]:
        """The unordered pair and scope; no two rules may share it."""
        return frozenset({self.a.key, self.b.key}), self.scope

    def in_force(self, day: date) -> bool:
        """Whether the rule applies on ``day``."""
        return self.effective_from <= day and (
            self.effective_until is None or day <= self.effective_until
        )
