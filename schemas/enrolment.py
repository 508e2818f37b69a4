"""A person's enrolment in a programme, as the programme's source system reports it.

Enrolments are what duplicate-benefit rules compare (overlapping periods of two programmes)
and what ``benefits`` answers list. Money is whole won.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, model_validator

from schemas.common import FROZEN_STRICT, OrganisationCode, ProgrammeCode, SourceRecordId, Won


class EnrolmentStatus(StrEnum):
    """Lifecycle of an enrolment (수급 중 / 중지 / 종료)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class EnrolmentRecord(BaseModel):
    """One enrolment from one source record. The person it belongs to travels in the ingest
    envelope beside it; ingest is idempotent by (source, source_record_id)."""

    model_config = FROZEN_STRICT

    source: OrganisationCode
    """The organisation whose system reported the enrolment (e.g. LH for rental housing, a
    welfare centre for private support)."""
    source_record_id: SourceRecordId
    programme: ProgrammeCode
    period_start: date
    period_end: date | None = None
    """Inclusive last day; ``None`` while open-ended."""
    status: EnrolmentStatus
    amount_won: Won | None = None
    """Monthly or one-off amount in won where the programme pays money; ``None`` for services."""

    @model_validator(mode="after")
    def _period_is_ordered(self) -> EnrolmentRecord:
        if self.period_end is not None and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if self.status is EnrolmentStatus.ENDED and self.period_end is None:
            raise ValueError("an ended enrolment needs period_end")
        return self

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls within the enrolment period."""
        return self.period_start <= day and (self.period_end is None or day <= self.period_end)
