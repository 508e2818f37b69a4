"""A person's consent to the provision of their data, as ISO/IEC TS 27560 records it.

PIPA §15(1)1 and §17(1)1 allow collection and provision to a third party with the person's
consent; §17(2) says what the person must be told (recipient, purpose, items, retention) and so
what the record must hold; §22 requires each matter to be consented to separately, and §23
requires a separate consent for sensitive data (health, including mental health and
addiction). A consent here therefore names its recipients, purposes and data categories, and a
sensitive category is released on consent only when the consent names it.

Consents are immutable: a correction withdraws the consent and records a new one. A withdrawn
or expired consent permits nothing from the moment it ends (PIPA §37).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.common import (
    FROZEN_STRICT,
    DataCategoryCode,
    OrganisationCode,
    PurposeCode,
    ShortText,
    UtcDateTime,
)

ConsentId = Annotated[str, StringConstraints(pattern=r"^cns_[A-Za-z0-9_-]{16,64}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class CollectionMethod(StrEnum):
    """How the consent was obtained (ISO/IEC TS 27560 `collection_method`)."""

    WRITTEN = "written"
    """A signed paper form (개인정보 수집·이용 및 제3자 제공 동의서), scanned."""
    ELECTRONIC = "electronic"
    """An electronic signature or an authenticated online form."""
    ORAL_RECORDED = "oral_recorded"
    """Given orally and recorded, e.g. by telephone with the recording kept."""


class ConsentState(StrEnum):
    ACTIVE = "active"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


def _distinct(name: str, values: tuple[str, ...]) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{name} lists a value twice")


class Consent(BaseModel):
    """One consent record. The subject is held by the hub (as an internal person id) and never
    travels in this model; answers name the subject only by a pseudonym."""

    model_config = FROZEN_STRICT

    id: ConsentId
    controller: OrganisationCode
    """The organisation that collected the consent (ISO/IEC TS 27560 `data_controller`)."""
    recipients: Annotated[tuple[OrganisationCode, ...], Field(min_length=1)]
    """The organisations the person agreed may receive the data (PIPA §17(2)1)."""
    purposes: Annotated[tuple[PurposeCode, ...], Field(min_length=1)]
    data_categories: Annotated[tuple[DataCategoryCode, ...], Field(min_length=1)]
    valid_from: UtcDateTime
    valid_until: UtcDateTime | None = None
    """Exclusive end; None for no fixed end (until withdrawn). Expiry needs no action."""
    collection_method: CollectionMethod
    form_sha256: Sha256Hex
    """SHA-256 of the signed form or recording, as evidence (the form itself stays with the
    controller)."""
    given_at: UtcDateTime
    recorded_at: UtcDateTime
    withdrawn_at: UtcDateTime | None = None
    withdrawal_reason: ShortText | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Consent:
        for name in ("recipients", "purposes", "data_categories"):
            _distinct(name, getattr(self, name))
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if self.valid_from < self.given_at:
            raise ValueError("valid_from is before given_at (a consent cannot be backdated)")
        if (self.withdrawn_at is None) != (self.withdrawal_reason is None):
            raise ValueError("a withdrawal needs both withdrawn_at and withdrawal_reason")
        if self.withdrawn_at is not None and self.withdrawn_at < self.given_at:
            raise ValueError("withdrawn_at is before given_at")
        return self

    def state(self, now: datetime) -> ConsentState:
        """The consent's state at `now` (withdrawal takes effect at once, PIPA §37)."""
        if self.withdrawn_at is not None and self.withdrawn_at <= now:
            return ConsentState.WITHDRAWN
        if now < self.valid_from:
            return ConsentState.NOT_YET_VALID
        if self.valid_until is not None and now >= self.valid_until:
            return ConsentState.EXPIRED
        return ConsentState.ACTIVE
