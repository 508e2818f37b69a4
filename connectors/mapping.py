"""A source's declarative mapping (connectors/mappings/<source>.yaml): its file format, and how
each canonical field is read from its columns (dates, code lists, integers, constants).

Adding a source is adding one of these files; nothing in the core changes. A mapping is checked
when loaded: the fields its record kind needs are present, every code maps onto the catalogue.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from connectors.formats import FormatSpec
from schemas.common import OrganisationCode

_FROZEN = ConfigDict(extra="forbid", frozen=True)

SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,47}$")]


class RecordKind(StrEnum):
    """What one row of the source states about a person."""

    ENROLMENT = "enrolment"
    """The person is (or was) in a programme for a period; private support is an enrolment
    in a PRIV-* programme for one day."""
    STATUS_EVENT = "status_event"
    """A civil-status change from the resident registry (death, 말소, move)."""
    ATTRIBUTE = "attribute"
    """A fact about the person (e.g. health-insurance payment status) over a period."""


PERSON_FIELDS = {"rrn": True, "name": True, "region_code": True, "household_id": False}
RECORD_FIELDS: dict[RecordKind, dict[str, bool]] = {
    RecordKind.ENROLMENT: {
        "source_record_id": True,
        "programme": True,
        "period_start": True,
        "period_end": False,
        "status": False,
        "amount_won": False,
    },
    RecordKind.STATUS_EVENT: {
        "source_event_id": True,
        "type": True,
        "effective_date": True,
        "new_region_code": False,
    },
    RecordKind.ATTRIBUTE: {
        "source_record_id": True,
        "attribute": True,
        "value": True,
        "valid_from": True,
        "valid_to": False,
    },
}
DATE_FIELDS = {"period_start", "period_end", "effective_date", "valid_from", "valid_to"}
INTEGER_FIELDS = {"amount_won"}
PERSONAL_FIELDS = {"rrn", "name", "household_id"}
"""Fields whose values a rejection reason must never quote."""


class FieldMap(BaseModel):
    """Where a canonical field comes from: a column (with its conversions) or a constant."""

    model_config = _FROZEN

    column: str | None = Field(default=None, min_length=1)
    value: str | None = Field(default=None, description="A constant instead of a column.")
    required: bool = True
    codes: dict[str, str] | None = Field(
        default=None, description="Source code → canonical value (programme code, status, …)."
    )
    date: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="strptime formats tried in order."
    )
    blank: tuple[str, ...] = Field(
        default=(), description="Source values that mean 'no value' (e.g. 99991231, -)."
    )

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMap:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of column or value")
        return self

    def to_native(self, canonical: str | None) -> str | None:
        """The source's spelling of a canonical value (used to write synthetic files)."""
        if canonical is None or self.column is None:
            return None
        if self.codes is not None:
            for code, meaning in self.codes.items():
                if meaning == canonical:
                    return code
            raise ValueError(f"no source code for {canonical!r} in column {self.column}")
        if self.date is not None:
            return dt.date.fromisoformat(canonical).strftime(self.date[0])
        return canonical


class Mapping(BaseModel):
    """One source: who owns it, its format, and its field maps."""

    model_config = _FROZEN

    source: SourceId
    owners: tuple[OrganisationCode, ...] = Field(
        min_length=1, description="Organisations that may send this source's files."
    )
    description: str = Field(min_length=1)
    record: RecordKind
    format: FormatSpec
    fields: dict[str, FieldMap]

    @model_validator(mode="after")
    def _fields_fit_the_record(self) -> Mapping:
        allowed = PERSON_FIELDS | RECORD_FIELDS[self.record]
        unknown = sorted(set(self.fields) - set(allowed))
        if unknown:
            raise ValueError(f"fields not used by a {self.record.value} source: {unknown}")
        missing = sorted(n for n, needed in allowed.items() if needed and n not in self.fields)
        if missing:
            raise ValueError(f"fields a {self.record.value} source needs: {missing}")
        for name, field in self.fields.items():
            if name in DATE_FIELDS and field.column is not None and field.date is None:
                raise ValueError(f"field {name} reads a date: give its `date` formats")
        return self

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be present in the file (a missing one breaks the whole file)."""
        return tuple(f.column for f in self.fields.values() if f.column is not None and f.required)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the mapping reads, in declaration order (the writers' layout)."""
        return tuple(f.column for f in self.fields.values() if f.column is not None)

    def native_row(self, canonical: dict[str, Any]) -> dict[str, str | None]:
        """Canonical field values → the source's columns (inverse of the mapping)."""
        row: dict[str, str | None] = {}
        for name, field in self.fields.items():
            if field.column is not None:
                value = canonical.get(name)
                row[field.column] = field.to_native(None if value is None else str(value))
        return row
