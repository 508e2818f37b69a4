"""Constrained types shared by the canonical records and the catalogue.

Every code that crosses an organisation boundary (organisation, programme, attribute, purpose,
legal basis) has one spelling, fixed here, so that a typo in a YAML rule file or a connector
mapping fails at load time instead of silently never matching.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints

#: The configuration every canonical model uses: unknown fields are errors (rules are data and a
#: misspelt key must not be ignored) and instances are immutable values.
FROZEN_STRICT = ConfigDict(extra="forbid", frozen=True)

OrganisationCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")]
"""Uppercase ASCII organisation code, e.g. ``MOHW``, ``JEJU-ARA``, ``WC-NOWON``."""

ProgrammeCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2,6}(-[A-Z0-9]+)+$", max_length=64)
]
"""Programme code: owner prefix then dash-separated words, e.g. ``MOHW-BLS-EDUCATION``."""

DottedCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64),
]
"""Lower-case dotted code for attributes, data categories and purposes, e.g. ``income.band``."""

AttributeCode = DottedCode
DataCategoryCode = DottedCode
PurposeCode = DottedCode

LegalBasisCode = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
]
"""Legal basis code, e.g. ``ssba-eligibility-status``; a disclosure records it as
``statute:<code>``."""

RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{5}(\d{5})?$")]
"""Administrative region: a 5-digit 시군구 code or a 10-digit 법정동 code (행정표준코드)."""

RegionPrefix = Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{3}(\d{5})?)?$")]
"""A region code or a prefix of one: 2-digit 시도, 5-digit 시군구 or 10-digit 법정동."""

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A name or label (Korean or English)."""

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
"""A descriptive text such as 서비스 내용 or 선정기준."""

SourceRecordId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7E]{1,128}$")]
"""A source system's own record or event id (printable ASCII, no spaces); ingest is idempotent
by (source organisation, source record id)."""

Won = Annotated[int, Field(ge=0)]
"""An amount of money in whole won (KRW has no minor unit in practice)."""


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC. Naive datetimes are rejected: a 'local' time
from a ministry feed is ambiguous and the audit trail must be unambiguous."""
