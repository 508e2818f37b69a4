"""Status changes that registries and ministries report, and the hub pushes onward.

Staff used to learn of a death, a 말소, a move or a loss of basic-livelihood status only when
the person told them; these events are what the alerts service fans out to the agencies with an
active enrolment, case or consent for the person (need to know).
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from schemas.common import (
    FROZEN_STRICT,
    OrganisationCode,
    SourceRecordId,
    UtcDateTime,
)

_REGION_CODE = re.compile(r"^\d{5}(\d{5})?$")
_DETAIL_KEY = r"^[a-z][a-z0-9_]{0,39}$"


class StatusEventType(StrEnum):
    """Event types; the values are the CloudEvents ``type`` suffixes subscribers choose."""

    PERSON_DIED = "person.died"
    PERSON_DEREGISTERED = "person.deregistered"
    PERSON_ADDRESS_CHANGED = "person.address_changed"
    ELIGIBILITY_CHANGED = "eligibility.changed"
    """수급자격 변동, e.g. loss of basic-livelihood status."""
    PERSON_FACILITY_ADMITTED = "person.facility_admitted"
    PERSON_FACILITY_DISCHARGED = "person.facility_discharged"


#: Details an address change must carry: the new region, so a case moves to the new 시군구.
NEW_REGION_CODE = "new_region_code"


class StatusEventRecord(BaseModel):
    """One status event from a source (e.g. a MOIS death record). The person it concerns
    travels in the request envelope; the hub is idempotent by (source, source_event_id)."""

    model_config = FROZEN_STRICT

    type: StatusEventType
    effective_date: date
    """The day the change took effect (date of death, of 말소, of the move)."""
    source: OrganisationCode
    source_event_id: SourceRecordId
    reported_at: UtcDateTime
    """When the source recorded the change (처리일시)."""
    details: dict[str, str] = Field(default_factory=dict)
    """Small, non-identifying details such as ``new_region_code`` or ``facility``."""

    @model_validator(mode="after")
    def _details_fit_the_type(self) -> StatusEventRecord:
        for key, value in self.details.items():
            if not re.match(_DETAIL_KEY, key):
                raise ValueError(f"details key {key!r} is not a lower-case identifier")
            if len(value) > 200:
                raise ValueError(f"details value of {key!r} is longer than 200 characters")
        if self.type is StatusEventType.PERSON_ADDRESS_CHANGED:
            region = self.details.get(NEW_REGION_CODE)
            if region is None or not _REGION_CODE.match(region):
                raise ValueError(
                    f"an address change needs details.{NEW_REGION_CODE} (5 or 10 digits)"
                )
        return self
