"""Statutory bases on which public bodies may receive data without the person's consent.

PIPA §15(1) and §17(1) allow collection and provision without consent where a statute provides
for it or a public body needs it for its statutory tasks; PIPA §18(2) allows use beyond the
original purpose where another statute specially provides. Each entry here names one such
provision and bounds it: which kinds of organisation, for which purposes, releasing which data
categories. Consent is the other basis and lives in consent records, never here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.common import (
    FROZEN_STRICT,
    DataCategoryCode,
    LegalBasisCode,
    LongText,
    PurposeCode,
    ShortText,
)
from schemas.organisation import OrganisationKind


class LegalBasis(BaseModel):
    """One statutory basis (legal_bases.yaml); disclosures record it as ``statute:<code>``."""

    model_config = FROZEN_STRICT

    code: LegalBasisCode
    statute_ko: ShortText
    statute_en: ShortText
    article: ShortText
    """The provision relied on. An article number is given only where it is certain; otherwise
    the provision is described in words."""
    description: LongText
    organisation_kinds: Annotated[tuple[OrganisationKind, ...], Field(min_length=1)]
    purposes: Annotated[tuple[PurposeCode, ...], Field(min_length=1)]
    data_categories: Annotated[tuple[DataCategoryCode, ...], Field(min_length=1)]
    requires_own_programme: bool = False
    """When true the requester may rely on this basis only for a person who applies for, or is
    enrolled in, one of the requester's own programmes (a ministry may learn a status only to
    verify eligibility for its own programme)."""
    requires_consent: Literal[False] = False
    """Always false: a statutory basis is by definition not consent. Kept explicit so that the
    YAML reads unambiguously to an auditor."""

    @model_validator(mode="after")
    def _no_repeats(self) -> LegalBasis:
        for name in ("organisation_kinds", "purposes", "data_categories"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a value twice")
        return self

    def permits(
        self, organisation_kind: OrganisationKind, purpose: str, data_category: str
    ) -> bool:
        """Whether this basis covers the triple; own-programme checks are the caller's job."""
        return (
            organisation_kind in self.organisation_kinds
            and purpose in self.purposes
            and data_category in self.data_categories
        )
