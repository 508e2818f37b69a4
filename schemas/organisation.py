"""Organisations that send records to, or receive answers from, the hub.

The kind of an organisation decides which legal bases it may rely on: public bodies verify
eligibility under statute (사회보장급여법, PIPA §15(1)), private facilities such as
종합사회복지관 only ever act on the person's written consent.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, model_validator

from schemas.common import FROZEN_STRICT, OrganisationCode, RegionCode, ShortText


class OrganisationKind(StrEnum):
    """What an organisation is, as far as disclosure rules care."""

    MINISTRY = "ministry"
    """A central ministry or agency (부·처·청) that owns welfare programmes."""
    REGISTRY = "registry"
    """A register of civil facts (주민등록): the source of deaths, 말소 and moves."""
    LOCAL_GOVERNMENT = "local_government"
    """A 시군구 office or an 읍면동 주민센터 (보장기관 under 사회보장급여법)."""
    WELFARE_CENTRE = "welfare_centre"
    """A private welfare facility (종합사회복지관 etc.): no statutory basis, consent only."""
    AUDITOR = "auditor"
    """An oversight body (감사원, 개인정보보호위원회): reads the disclosure log."""
    PUBLIC_AGENCY = "public_agency"
    """A public institution that operates a programme for a ministry (LH, NPS)."""


#: Kinds that may own a programme in the catalogue (the ``ministry`` field of a programme).
PROGRAMME_OWNER_KINDS = frozenset({OrganisationKind.MINISTRY})

#: Kinds that may operate a programme on a ministry's behalf (the ``operator`` field).
PROGRAMME_OPERATOR_KINDS = frozenset(
    {OrganisationKind.MINISTRY, OrganisationKind.PUBLIC_AGENCY, OrganisationKind.LOCAL_GOVERNMENT}
)

#: Kinds that serve people in a place and therefore must carry a region code.
REGIONAL_KINDS = frozenset({OrganisationKind.LOCAL_GOVERNMENT, OrganisationKind.WELFARE_CENTRE})


class Organisation(BaseModel):
    """One organisation of the catalogue (organisations.yaml)."""

    model_config = FROZEN_STRICT

    code: OrganisationCode
    kind: OrganisationKind
    name_ko: ShortText
    name_en: ShortText
    parent: OrganisationCode | None = None
    """The supervising organisation, e.g. LH under MOLIT, a 주민센터 under its 시청."""
    region_code: RegionCode | None = None
    """시군구 (5 digits) or 법정동 (10 digits) code; required for local bodies so that a case
    moves to the new 시군구 when the person moves."""

    @model_validator(mode="after")
    def _regional_bodies_have_a_region(self) -> Organisation:
        if self.kind in REGIONAL_KINDS and self.region_code is None:
            raise ValueError(f"an organisation of kind {self.kind.value} needs a region_code")
        if self.parent == self.code:
            raise ValueError("an organisation cannot be its own parent")
        return self

    @property
    def sigungu_code(self) -> str | None:
        """The 5-digit 시군구 part of the region code, if any."""
        return None if self.region_code is None else self.region_code[:5]
