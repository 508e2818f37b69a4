"""The canonical person record a source sends, before the hub stores it.

The resident registration number (주민등록번호) is highly sensitive: it is held as a
``SecretStr`` so that it never appears in a repr, a log line or an error message, and the hub
stores it only encrypted and finds it through a keyed blind index. Format and birth-date checks
of the number live in ``schemas.identifiers``, not here.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, SecretStr, model_validator

from schemas.common import (
    FROZEN_STRICT,
    OrganisationCode,
    RegionCode,
    ShortText,
    SourceRecordId,
)


class CivilStatus(StrEnum):
    """Civil status from resident registration (주민등록법)."""

    ALIVE = "alive"
    DECEASED = "deceased"
    """사망."""
    DEREGISTERED = "deregistered"
    """주민등록 말소 (e.g. whereabouts unknown after a 사실조사)."""


class Sex(StrEnum):
    """Sex as registered (the RRN's 7th digit encodes it)."""

    MALE = "male"
    FEMALE = "female"


class PersonRecord(BaseModel):
    """A person as reported by one source record (e.g. a MOIS registry row or a ministry's
    enrolment file). Personal fields are excluded from ``repr`` so they do not leak into logs."""

    model_config = FROZEN_STRICT

    source: OrganisationCode
    source_record_id: SourceRecordId
    rrn: SecretStr = Field(repr=False)
    name: ShortText = Field(repr=False)
    birth_date: date = Field(repr=False)
    sex: Sex
    region_code: RegionCode
    """Where the person is registered: 시군구 (5 digits) or 법정동 (10 digits)."""
    household_id: SourceRecordId | None = Field(default=None, repr=False)
    """The source's household (세대) identifier, so programmes scoped to the household (and
    duplicate rules with ``scope: household``) can group people."""
    civil_status: CivilStatus = CivilStatus.ALIVE
    civil_status_date: date | None = None
    """The date of death or of 말소; required unless alive."""

    @model_validator(mode="after")
    def _status_has_a_date(self) -> PersonRecord:
        if self.civil_status is not CivilStatus.ALIVE and self.civil_status_date is None:
            raise ValueError(f"civil_status {self.civil_status.value} needs civil_status_date")
        if self.civil_status_date is not None and self.civil_status_date < self.birth_date:
            raise ValueError("civil_status_date is before birth_date")
        return self
