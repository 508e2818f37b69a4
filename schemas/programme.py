"""Welfare programmes of the catalogue and their machine-readable eligibility requirements.

Each entry carries what 복지알림이 shows a resident (서비스 내용, 선정기준, 신청방법, 신청처)
plus requirements a recommender can evaluate over a person's attribute facts, age and household.
All requirements of a programme must hold; ``any_of`` expresses alternatives. Requirements are a
screen for missed-service discovery, never a benefit decision: the owning ministry decides.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, model_validator

from schemas.attribute import MAX_INCOME_BAND, EnumValue
from schemas.common import (
    FROZEN_STRICT,
    AttributeCode,
    LongText,
    OrganisationCode,
    ProgrammeCode,
    RegionPrefix,
    ShortText,
)
from schemas.organisation import OrganisationKind

#: The attribute an ``income_band_at_most`` requirement is evaluated against.
INCOME_BAND_ATTRIBUTE = "income.band"

Years = Annotated[int, Field(ge=0, le=150)]


class ProgrammeCategory(StrEnum):
    """The field of welfare a programme belongs to; duplicate rules may name a category."""

    LIVELIHOOD = "livelihood"
    MEDICAL = "medical"
    HOUSING = "housing"
    EDUCATION = "education"
    EMPLOYMENT = "employment"
    CHILDCARE = "childcare"
    ELDERLY = "elderly"
    DISABILITY = "disability"
    VETERANS = "veterans"
    ENERGY = "energy"
    CULTURE = "culture"
    AGRICULTURE = "agriculture"
    EMERGENCY = "emergency"
    HEALTH = "health"
    PRIVATE_SUPPORT = "private-support"
    """Support given by private facilities (food, cash, goods, services), no ministry."""


class BenefitKind(StrEnum):
    """The form of the benefit (사회보장급여법 §2: 현금, 현물, 서비스, 이용권)."""

    CASH = "cash"
    IN_KIND = "in_kind"
    SERVICE = "service"
    VOUCHER = "voucher"


class AttributeRequirement(BaseModel):
    """The person's attribute equals a value (``true``/``false`` or an enum value)."""

    model_config = FROZEN_STRICT

    kind: Literal["attribute"]
    attribute: AttributeCode
    equals: StrictBool | EnumValue

    def attribute_codes(self) -> frozenset[str]:
        return frozenset({self.attribute})


class AttributeInRequirement(BaseModel):
    """The person's enum attribute takes one of the listed values."""

    model_config = FROZEN_STRICT

    kind: Literal["attribute_in"]
    attribute: AttributeCode
    values: Annotated[tuple[EnumValue, ...], Field(min_length=1)]

    def attribute_codes(self) -> frozenset[str]:
        return frozenset({self.attribute})


class _YearsRange(BaseModel):
    model_config = FROZEN_STRICT

    min: Years | None = None
    """Inclusive lower bound in full years (만 나이)."""
    max: Years | None = None
    """Inclusive upper bound in full years (만 나이)."""

    @model_validator(mode="after")
    def _bounds(self) -> _YearsRange:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    def attribute_codes(self) -> frozenset[str]:
        return frozenset()

    def contains(self, years: int) -> bool:
        """Whether an age in full years lies within the bounds."""
        return (self.min is None or years >= self.min) and (self.max is None or years <= self.max)


class AgeRequirement(_YearsRange):
    """The person's own age (만 나이) lies within the bounds."""

    kind: Literal["age"]


class HouseholdMemberAgeRequirement(_YearsRange):
    """Someone in the person's household (the person included) lies within the age bounds,
    e.g. a child of 12 or under for 아이돌봄서비스."""

    kind: Literal["household_member_age"]


class IncomeBandRequirement(BaseModel):
    """The household's ``income.band`` is at most ``band`` percent of 기준중위소득."""

    model_config = FROZEN_STRICT

    kind: Literal["income_band_at_most"]
    band: Annotated[int, Field(ge=1, le=MAX_INCOME_BAND)]

    def attribute_codes(self) -> frozenset[str]:
        return frozenset({INCOME_BAND_ATTRIBUTE})


class RegionRequirement(BaseModel):
    """The person lives in one of the regions (a code or a 시도/시군구 prefix of one)."""

    model_config = FROZEN_STRICT

    kind: Literal["region"]
    codes: Annotated[tuple[RegionPrefix, ...], Field(min_length=1)]

    def attribute_codes(self) -> frozenset[str]:
        return frozenset()

    def contains(self, region_code: str) -> bool:
        """Whether ``region_code`` lies in one of the listed regions."""
        return any(region_code.startswith(prefix) for prefix in self.codes)


class AnyOfRequirement(BaseModel):
    """At least one of the nested requirements holds (OR)."""

    model_config = FROZEN_STRICT

    kind: Literal["any_of"]
    requirements: Annotated[tuple[Requirement, ...], Field(min_length=2)]

    def attribute_codes(self) -> frozenset[str]:
        return frozenset().union(*(r.attribute_codes() for r in self.requirements))


Requirement = Annotated[
    AttributeRequirement
    | AttributeInRequirement
    | AgeRequirement
    | HouseholdMemberAgeRequirement
    | IncomeBandRequirement
    | RegionRequirement
    | AnyOfRequirement,
    Field(discriminator="kind"),
]
"""One eligibility requirement, discriminated by ``kind``."""

AnyOfRequirement.model_rebuild()


def iter_requirements(requirements: tuple[Requirement, ...]) -> list[Requirement]:
    """All requirements, nested ``any_of`` members included, depth first."""
    found: list[Requirement] = []
    for requirement in requirements:
        found.append(requirement)
        if isinstance(requirement, AnyOfRequirement):
            found.extend(iter_requirements(requirement.requirements))
    return found


class ApplicationInfo(BaseModel):
    """How and where to apply (신청방법, 신청처), as 복지알림이 shows it."""

    model_config = FROZEN_STRICT

    how: LongText
    where: LongText


class ConferredAttribute(BaseModel):
    """An attribute fact that an enrolment in the programme establishes for its period.

    Example: being in 생계급여 makes a person a basic-livelihood recipient (국민기초생활 보장법
    §2). Ingestion derives these facts from enrolments, so the rule is data, not code.
    """

    model_config = FROZEN_STRICT

    attribute: AttributeCode
    value: StrictBool | EnumValue


class Programme(BaseModel):
    """A welfare programme (programmes.yaml)."""

    model_config = FROZEN_STRICT

    code: ProgrammeCode
    ministry: OrganisationCode | None = None
    """The owning ministry; absent only for private support given by welfare facilities."""
    operator: OrganisationCode | None = None
    """The body that runs the programme for the ministry, e.g. LH for rental housing."""
    operator_kind: OrganisationKind | None = None
    """For private support (no ministry): the kind of facility that gives it."""
    name_ko: ShortText
    name_en: ShortText
    category: ProgrammeCategory
    content: LongText
    """서비스 내용."""
    eligibility_text: LongText
    """선정기준 as published; the ``requirements`` are a machine-readable screen of it."""
    requirements: Annotated[tuple[Requirement, ...], Field(min_length=1)]
    verified_attributes: tuple[AttributeCode, ...] = ()
    """Attributes the programme's staff verify through the hub at application (partner checks),
    e.g. 아이돌봄서비스 asks for the health-insurance payment status."""
    confers: tuple[ConferredAttribute, ...] = ()
    """Attribute facts an enrolment establishes (derived at ingestion)."""
    application: ApplicationInfo
    benefit_kind: BenefitKind | None = None
    legal_basis: ShortText | None = None
    """The statute the programme rests on, as text (e.g. 국민기초생활 보장법 §12)."""

    @model_validator(mode="after")
    def _owner_is_consistent(self) -> Programme:
        private = self.category is ProgrammeCategory.PRIVATE_SUPPORT
        if private:
            if self.ministry is not None:
                raise ValueError("private-support programmes have no ministry")
            if self.operator_kind is not OrganisationKind.WELFARE_CENTRE:
                raise ValueError("private-support programmes need operator_kind: welfare_centre")
        else:
            if self.ministry is None:
                raise ValueError("a public programme needs a ministry")
            if self.operator_kind is not None:
                raise ValueError("operator_kind is only for private-support programmes")
        if len(set(self.verified_attributes)) != len(self.verified_attributes):
            raise ValueError("verified_attributes lists an attribute twice")
        return self

    def attribute_codes(self) -> frozenset[str]:
        """Every attribute the requirements and partner checks refer to."""
        codes: frozenset[str] = frozenset(self.verified_attributes)
        codes = codes.union(c.attribute for c in self.confers)
        return codes.union(*(r.attribute_codes() for r in self.requirements))
