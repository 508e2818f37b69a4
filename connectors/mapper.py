"""Turning one raw row into canonical records (schemas/), or into a rejection that says which
row, which field and why, without quoting personal data.

Pure: no I/O. The pipeline (hub/ingest) feeds rows from a reader and stores what comes out.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import ConfigDict, SecretStr, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from connectors.mapping import (
    INTEGER_FIELDS,
    PERSONAL_FIELDS,
    FieldMap,
    Mapping,
    RecordKind,
)
from connectors.readers.base import RawRow
from schemas.attribute import AttributeFact, AttributeValueType
from schemas.catalogue import Catalogue
from schemas.enrolment import EnrolmentRecord
from schemas.event import StatusEventRecord
from schemas.identifiers import InvalidRRN, ResidentRegistrationNumber, parse_rrn
from schemas.person import PersonRecord

CanonicalRecord = EnrolmentRecord | StatusEventRecord | AttributeFact


@dataclass(frozen=True, slots=True)
class Mapped:
    """A row that became canonical records."""

    row: int
    location: str
    rrn: ResidentRegistrationNumber
    person: PersonRecord
    record: CanonicalRecord
    key: str
    """The record's id within its source (source record id or source event id)."""
    fingerprint: str
    """SHA-256 of the row's canonical content: equal fingerprints mean nothing changed."""


class Staged(NamedTuple):
    """A mapped row in plain values: what the store needs of it, cheap to build, to send to
    another process and to read. The hub's bulk pipeline works on these; `Mapped` keeps the
    canonical models for everything else."""

    row: int
    location: str
    rrn: str
    """The 13 canonical digits: only ever sealed or blind-indexed (hub.vault)."""
    name: str
    birth_date: dt.date
    sex: str
    region_code: str
    household_id: str | None
    key: str
    fingerprint: str
    record: dict[str, Any]
    """The validated canonical record's fields (its model's `__dict__`, not a copy)."""

    def __repr__(self) -> str:
        # The tuple's own repr would print the RRN and the name.
        return f"Staged(row={self.row}, location={self.location!r})"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that could not be accepted. `reason` never quotes personal data."""

    row: int
    location: str
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    """One field's mapping, flattened once per mapper (the row loop is the hot path)."""

    name: str
    field: FieldMap
    column: str | None
    constant: str | None
    required: bool
    blank: frozenset[str]
    codes: dict[str, str] | None
    integer: bool
    label: str

    @property
    def step(self) -> tuple[Any, ...]:
        """The plan as `Mapper._values` unpacks it."""
        return (
            self.name,
            self.column,
            self.constant,
            self.required,
            self.blank,
            self.codes,
            self.field.date,
            self.integer,
            self.label,
        )

    @classmethod
    def of(cls, name: str, field: FieldMap) -> _FieldPlan:
        constant = field.value.strip() if field.value is not None else None
        return cls(
            name=name,
            field=field,
            column=field.column,
            constant=constant,
            required=field.required,
            blank=frozenset(field.blank),
            codes=field.codes,
            integer=name in INTEGER_FIELDS,
            label=_label(name, field),
        )


_KNOWN_PEOPLE = 4096
"""Persons a mapper remembers (`Mapper._person`); forgotten all at once when full."""
_SOURCE_RECORD_ID: TypeAdapter[str] = TypeAdapter(
    PersonRecord.model_fields["source_record_id"].rebuild_annotation()
)
_SOURCE: TypeAdapter[str] = TypeAdapter(PersonRecord.model_fields["source"].rebuild_annotation())
_FROM_ROW = ("source_record_id", "name", "region_code", "household_id")
"""The fields of `PersonRecord` that a row gives; the RRN gives the birth date and sex."""
_PersonFields: Any = TypedDict(  # type: ignore[misc]  # built from the model's own types
    "_PersonFields",
    {name: PersonRecord.model_fields[name].rebuild_annotation() for name in _FROM_ROW},
)
_PersonFields.__pydantic_config__ = ConfigDict(strict=bool(PersonRecord.model_config.get("strict")))
_PERSON_FIELDS: TypeAdapter[dict[str, Any]] = TypeAdapter(_PersonFields)
"""`PersonRecord`'s checks of the fields a row gives, in its field order, without building
the model: a fifth of the cost. Each row of a file such as NHIS's is a new person."""


class Person(NamedTuple):
    """A row's person as `PersonRecord` validated it, for the bulk pipeline."""

    name: str
    birth_date: dt.date
    sex: str
    region_code: str
    household_id: str | None


def _invalid(exc: ValidationError, field: str = "row") -> _Reject:
    """The first error of a validation as a rejection, at the field it names (else `field`)."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or field
    return _Reject(where, error["msg"].removeprefix("Value error, "))


class _Reject(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


# Sources repeat the same few dates (month starts, 99991231…): parse each once.
_SEPARATED = {"%Y-%m-%d": "-", "%Y.%m.%d": ".", "%Y/%m/%d": "/"}


@functools.lru_cache(maxsize=65536)
def _parse_date(text: str, patterns: tuple[str, ...]) -> dt.date | None:
    """The first pattern that reads `text` as a real date, or None. The usual Korean forms
    (YYYYMMDD, YYYY-MM-DD, YYYY.MM.DD, YYYY/MM/DD) take a fast path; others use strptime."""
    for pattern in patterns:
        try:
            if pattern == "%Y%m%d" and len(text) == 8 and text.isdigit():
                return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            separator = _SEPARATED.get(pattern)
            if separator is not None:
                parts = text.split(separator)
                if len(parts) == 3 and len(parts[0]) == 4 and all(p.isdigit() for p in parts):
                    return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
                continue
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a date)
        except ValueError:
            continue
    return None


def _human(pattern: str) -> str:
    """strptime pattern as people write it: %Y%m%d → YYYYMMDD."""
    for code, shown in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%y", "YY")):
        pattern = pattern.replace(code, shown)
    return pattern


def _label(name: str, field: FieldMap) -> str:
    return f"{name} ({field.column})" if field.column else name


class Mapper:
    """Applies one source's mapping for one sending organisation."""

    def __init__(
        self,
        mapping: Mapping,
        catalogue: Catalogue,
        organisation: str,
        *,
        now: dt.datetime,
    ) -> None:
        self.mapping = mapping
        self.catalogue = catalogue
        self.organisation = organisation
        self.now = now
        self.today = now.date()
        names = sorted(n for n in mapping.fields if n != "rrn")
        # The fingerprint's text is "name=value" per field, sorted by name, joined by \x1f,
        # after the RRN. One %-template and one itemgetter build it in C: the same text as
        # formatting each field (`str` of a date, an int or None), at a fraction of the cost.
        self._content = "\x1f".join(f"{name.replace('%', '%%')}=%s" for name in names)
        getter = operator.itemgetter(*names)
        self._content_values: Callable[[dict[str, Any]], tuple[Any, ...]] = (
            getter if len(names) > 1 else lambda values: (getter(values),)
        )
        self._steps = tuple(_FieldPlan.of(name, f).step for name, f in mapping.fields.items())
        self._key_name = (
            "source_event_id" if mapping.record is RecordKind.STATUS_EVENT else "source_record_id"
        )
        self._people: dict[tuple[Any, ...], tuple[ResidentRegistrationNumber, Person]] = {}
        """Persons already validated, by the raw values they were built from (see `_person`)."""
        self._source_problem: _Reject | None = None
        """Why every row's person would fail `PersonRecord`'s check of the sender, if it would."""
        try:
            _SOURCE.validate_python(organisation)
        except ValidationError as exc:
            self._source_problem = _invalid(exc, "source")

    def map(self, raw: RawRow) -> Mapped | Rejection:
        try:
            return Mapped(raw.number, raw.location, *self._accept(raw))
        except _Reject as problem:
            return Rejection(raw.number, raw.location, problem.field, problem.reason)

    def stage(self, raw: RawRow) -> Staged | Rejection:
        """`map`, with an accepted row flattened for the bulk pipeline (hub.ingest): the same
        checks, without building the `Mapped` wrapper."""
        return self.stage_all([raw])[0]

    def stage_all(self, raws: Sequence[RawRow]) -> list[Staged | Rejection]:
        """`stage` for many rows, in their order.

        The checks run a step at a time over all the rows (every row's fields, then every
        row's person, then every row's record, then the fingerprints), not every step for one
        row before the next: the interpreter then runs one step's code over and over while it
        is in the processor's caches. The same per row, and about a sixth less CPU than
        row by row for a chunk of a large file (benchmarks/RESULTS.md, issue 3). A row
        rejected at one step takes no part in the next, so it gets the rejection `map` would
        give it."""
        results: list[Staged | Rejection | None] = [None] * len(raws)

        def reject(index: int, problem: _Reject) -> None:
            raw = raws[index]
            results[index] = Rejection(raw.number, raw.location, problem.field, problem.reason)

        valued: list[tuple[int, dict[str, Any]]] = []
        for index, raw in enumerate(raws):
            try:
                valued.append((index, self._checked_values(raw)))
            except _Reject as problem:
                reject(index, problem)
        key_name = self._key_name
        persons: list[tuple[int, dict[str, Any], ResidentRegistrationNumber, Person]] = []
        for index, values in valued:
            try:
                persons.append((index, values, *self._person(values, values[key_name])))
            except ValidationError as exc:
                reject(index, _invalid(exc))
            except _Reject as problem:
                reject(index, problem)
        kind = self.mapping.record
        records: list[
            tuple[int, dict[str, Any], ResidentRegistrationNumber, Person, CanonicalRecord]
        ] = []
        for index, values, rrn, person in persons:
            try:
                records.append((index, values, rrn, person, self._record(kind, values)))
            except ValidationError as exc:
                reject(index, _invalid(exc))
            except _Reject as problem:
                reject(index, problem)
        for index, values, rrn, person, record in records:
            raw = raws[index]
            digits = rrn.canonical()
            results[index] = Staged(
                raw.number,
                raw.location,
                digits,
                *person,  # name, birth date, sex, region and household, as `Staged` has them
                values[key_name],
                self._fingerprint(digits, values),
                record.__dict__,
            )
        return results  # type: ignore[return-value]  # every index was filled above

    # -- fields ------------------------------------------------------------------------------

    def _values(self, raw: RawRow) -> dict[str, Any]:
        """Every mapped field's canonical value (codes translated, dates and integers typed)."""
        fields = raw.fields
        values: dict[str, Any] = {}
        # The plans as plain tuples, unpacked into locals: a row reads about ten fields, and
        # attribute reads on each plan were a fifth of this loop (benchmarks/RESULTS.md).
        for name, column, constant, required, blank, codes, dates, integer, label in self._steps:
            text = constant if column is None else fields.get(column)
            if not text or text in blank:
                if required:
                    raise _Reject(label, "a value is required")
                values[name] = None
                continue
            if "\x00" in text:  # PostgreSQL cannot store it in text; SQLite would
                raise _Reject(label, "holds a NUL character (U+0000)")
            if codes is not None:
                code = codes.get(text)
                if code is None:
                    shown = "" if name in PERSONAL_FIELDS else f" '{text}'"
                    raise _Reject(label, f"code{shown} is not in the source's code list")
                text = code
            if dates is not None:
                parsed = _parse_date(text, dates)
                if parsed is None:
                    wanted = " or ".join(_human(p) for p in dates)
                    raise _Reject(label, f"not a real date in the form {wanted}")
                values[name] = parsed
            elif integer:
                try:
                    values[name] = int(text.replace(",", ""))
                except ValueError:
                    raise _Reject(label, "not a whole number") from None
            else:
                values[name] = text
        return values

    # -- records -----------------------------------------------------------------------------

    def _accept(
        self, raw: RawRow
    ) -> tuple[ResidentRegistrationNumber, PersonRecord, CanonicalRecord, str, str]:
        """The row's RRN, person, record, key and fingerprint; `_Reject` if it cannot be
        accepted (the steps of `stage_all`, for one row, with the person exactly the row's
        and built as the model)."""
        values = self._checked_values(raw)
        key = values[self._key_name]
        try:
            rrn, person = self._person(values, key)
            record = PersonRecord(
                source=self.organisation,
                source_record_id=key,
                rrn=SecretStr(rrn.canonical()),
                name=person.name,
                birth_date=person.birth_date,
                sex=person.sex,
                region_code=person.region_code,
                household_id=person.household_id,
            )
            canonical = self._record(self.mapping.record, values)
        except ValidationError as exc:
            raise _invalid(exc) from None
        return rrn, record, canonical, key, self._fingerprint(rrn.canonical(), values)

    def _fingerprint(self, digits: str, values: dict[str, Any]) -> str:
        """SHA-256 of the row's canonical content: the RRN's digits, then its mapped values
        (codes translated, dates parsed)."""
        content = self._content % self._content_values(values)
        return hashlib.sha256((digits + content).encode()).hexdigest()

    def _checked_values(self, raw: RawRow) -> dict[str, Any]:
        if raw.fields.get("__extra__") is not None:
            raise _Reject("row", "the row has more fields than the header")
        return self._values(raw)

    def _person(
        self, values: dict[str, Any], key: str
    ) -> tuple[ResidentRegistrationNumber, Person]:
        """The row's RRN and person, checked as `PersonRecord` checks them (`_PERSON_FIELDS`).
        A source lists a person's records together (a 행복e음 export has about five rows per
        person), so a person already checked from the same RRN, name, region and household is
        reused, and only the row's own key is checked: the RRN parse and the checks are about
        a fifth of a row's mapping (benchmarks/RESULTS.md, issue 3). The outcome is the same
        as checking afresh: every other field comes from those values or from the mapper."""
        if self._source_problem is not None:
            raise self._source_problem
        seen = (values["rrn"], values["name"], values["region_code"], values.get("household_id"))
        known = self._people.get(seen)
        if known is not None:
            try:
                _SOURCE_RECORD_ID.validate_python(key)  # the one field that differs
            except ValidationError as exc:
                raise _invalid(exc, "source_record_id") from None
            return known
        try:
            rrn = parse_rrn(values["rrn"], today=self.today)
        except InvalidRRN as exc:
            raise _Reject(_label("rrn", self.mapping.fields["rrn"]), str(exc)) from None
        fields = _PERSON_FIELDS.validate_python(
            {
                "source_record_id": key,
                "name": values["name"],
                "region_code": values["region_code"],
                "household_id": values.get("household_id"),
            }
        )
        person = Person(
            fields["name"],
            rrn.birth_date,
            rrn.sex,
            fields["region_code"],
            fields["household_id"],
        )
        if len(self._people) >= _KNOWN_PEOPLE:
            self._people.clear()
        self._people[seen] = (rrn, person)
        return rrn, person

    def _record(self, kind: RecordKind, values: dict[str, Any]) -> CanonicalRecord:
        for start, end in (("period_start", "period_end"), ("valid_from", "valid_to")):
            late, early = values.get(end), values.get(start)
            if late is not None and early is not None and late < early:
                raise _Reject(_label(end, self.mapping.fields[end]), f"is before {start}")
        if kind is RecordKind.ENROLMENT:
            if values["programme"] not in self.catalogue.programmes:
                raise _Reject("programme", f"'{values['programme']}' is not a catalogue programme")
            return EnrolmentRecord(
                source=self.organisation,
                source_record_id=values["source_record_id"],
                programme=values["programme"],
                period_start=values["period_start"],
                period_end=values.get("period_end"),
                status=values.get("status") or "active",
                amount_won=values.get("amount_won"),
            )
        if kind is RecordKind.STATUS_EVENT:
            details = {}
            if values.get("new_region_code"):
                details["new_region_code"] = values["new_region_code"]
            return StatusEventRecord(
                type=values["type"],
                effective_date=values["effective_date"],
                source=self.organisation,
                source_event_id=values["source_event_id"],
                reported_at=self.now,
                details=details,
            )
        return AttributeFact(
            attribute=values["attribute"],
            value=self._attribute_value(values["attribute"], values["value"]),
            valid_from=values["valid_from"],
            valid_to=values.get("valid_to"),
            source=self.organisation,
            source_record_id=values["source_record_id"],
            as_of=self.now,
        )

    def _attribute_value(self, code: str, text: str) -> bool | int | str:
        attribute = self.catalogue.attributes.get(code)
        if attribute is None:
            raise _Reject("attribute", f"'{code}' is not a catalogue attribute")
        value: bool | int | str = text
        if attribute.value_type is AttributeValueType.BOOL:
            if text not in ("true", "false"):
                raise _Reject("value", "must map to true or false")
            value = text == "true"
        elif attribute.value_type is AttributeValueType.BAND:
            try:
                value = int(text)
            except ValueError:
                raise _Reject("value", "an income band must be a whole number") from None
        if not attribute.accepts(value):
            raise _Reject("value", f"not a value of attribute {code}")
        return value
