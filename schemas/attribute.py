"""Attributes partner programmes ask about, and the facts sources report about people.

The hub answers attribute questions with the least possible disclosure (PIPA §3(1): minimum
necessary): "is the applicant a basic-livelihood recipient?" gets ``true``, ``false`` or
``"unknown"``, never the underlying record. The catalogue defines which attributes exist, whose
data is authoritative and which data category an answer releases.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt, model_validator

from schemas.common import (
    FROZEN_STRICT,
    AttributeCode,
    DataCategoryCode,
    OrganisationCode,
    ShortText,
    SourceRecordId,
    UtcDateTime,
)

#: Income bands are whole percent of 기준중위소득; 1000% is far beyond any programme's ceiling.
MAX_INCOME_BAND = 1000

EnumValue = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


class AttributeValueType(StrEnum):
    """How an attribute's value is represented."""

    BOOL = "bool"
    ENUM = "enum"
    BAND = "band"
    """An integer percent of 기준중위소득: the smallest whole percent p with 소득인정액 ≤ p%."""


class AnswerKind(StrEnum):
    """Which kind of partner check the attribute serves (DOMAIN: 19 yes/no, 8 income/asset)."""

    YES_NO = "yes_no"
    INCOME_DATA = "income_data"


class Attribute(BaseModel):
    """An attribute definition (attributes.yaml)."""

    model_config = FROZEN_STRICT

    code: AttributeCode
    name_ko: ShortText
    name_en: ShortText
    value_type: AttributeValueType
    values: tuple[EnumValue, ...] = ()
    """The allowed values of an enum attribute; empty for other types."""
    multi: bool = False
    """An enum attribute a person may hold several values of at once (e.g. 생계 and 의료급여)."""
    data_category: DataCategoryCode
    source_ministry: OrganisationCode
    """The ministry whose register is authoritative for this attribute."""
    answer: AnswerKind

    @model_validator(mode="after")
    def _values_match_type(self) -> Attribute:
        if self.value_type is AttributeValueType.ENUM:
            if not self.values:
                raise ValueError("an enum attribute needs values")
            if len(set(self.values)) != len(self.values):
                raise ValueError("values lists a value twice")
        elif self.values:
            raise ValueError(f"values are only allowed for enum attributes, not {self.value_type}")
        if self.multi and self.value_type is not AttributeValueType.ENUM:
            raise ValueError("multi is only allowed for enum attributes")
        return self

    def accepts(self, value: bool | int | str) -> bool:
        """Whether ``value`` is a well-typed value of this attribute."""
        if self.value_type is AttributeValueType.BOOL:
            return isinstance(value, bool)
        if self.value_type is AttributeValueType.ENUM:
            return isinstance(value, str) and value in self.values
        return (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INCOME_BAND
        )


class AttributeFact(BaseModel):
    """A canonical fact about a person reported by a source, e.g. "disability.severity = severe
    from 2021-03-02". The person it belongs to travels in the ingest envelope, not here."""

    model_config = FROZEN_STRICT

    attribute: AttributeCode
    value: StrictBool | StrictInt | str
    valid_from: date
    valid_to: date | None = None
    """Inclusive last day; ``None`` while the fact still holds."""
    source: OrganisationCode
    source_record_id: SourceRecordId
    as_of: UtcDateTime
    """When the source asserted the fact; eligibility answers report it as ``as_of``."""

    @model_validator(mode="after")
    def _period_is_ordered(self) -> AttributeFact:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def holds_on(self, day: date) -> bool:
        """Whether the fact is valid on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)
