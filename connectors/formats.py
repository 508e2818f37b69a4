"""How a source's native file is laid out: the `format:` block of a mapping file.

One model per format, discriminated by `kind`. Readers (connectors/readers/) take the spec and
a binary stream and yield raw rows; writers (connectors/writers/) take the same spec to produce
native files for the synthetic population.
"""

from __future__ import annotations

import codecs
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_FROZEN = ConfigDict(extra="forbid", frozen=True)


def _known_encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown encoding {value!r}") from None
    return value


class CsvFormat(BaseModel):
    """Delimited text with a header row (e.g. 행복e음 exports: CP949, Korean headers)."""

    model_config = _FROZEN
    kind: Literal["csv"]
    encoding: str = "utf-8"
    """Any Python codec; `utf-8-sig` strips a BOM."""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)

    _encoding = field_validator("encoding")(_known_encoding)


class FixedColumn(BaseModel):
    model_config = _FROZEN
    name: str = Field(min_length=1)
    start: int = Field(ge=1, description="1-based byte offset in the encoded record.")
    width: int = Field(ge=1, description="Width in bytes (a Hangul syllable is 2 bytes in EUC-KR).")


class RecordType(BaseModel):
    """Legacy files mark each record: header, data and trailer records by a type code."""

    model_config = _FROZEN
    start: int = Field(ge=1)
    width: int = Field(ge=1)
    data: str = Field(min_length=1, description="Type code of data records, e.g. D.")
    header: str | None = Field(default=None, description="Type code of the header record, e.g. H.")
    trailer: str | None = Field(
        default=None, description="Type code of the trailer record, e.g. T."
    )
    trailer_count: FixedColumn | None = Field(
        default=None, description="Where the trailer states how many data records precede it."
    )


class FixedWidthFormat(BaseModel):
    """Fixed-width records in a legacy encoding (e.g. an EUC-KR mainframe extract)."""

    model_config = _FROZEN
    kind: Literal["fixed_width"]
    encoding: str = "euc-kr"
    record_length: int | None = Field(
        default=None, ge=1, description="Bytes per record without the line ending, if fixed."
    )
    columns: tuple[FixedColumn, ...] = Field(min_length=1)
    record_type: RecordType | None = None

    _encoding = field_validator("encoding")(_known_encoding)

    @model_validator(mode="after")
    def _columns_fit(self) -> FixedWidthFormat:
        if self.record_length is not None:
            for column in self.columns:
                if column.start + column.width - 1 > self.record_length:
                    raise ValueError(f"column {column.name} ends past record_length")
        return self


class XmlFormat(BaseModel):
    """XML with one element per record; fields are child elements or attributes."""

    model_config = _FROZEN
    kind: Literal["xml"]
    record: str = Field(min_length=1, description="Tag of the record element, e.g. 계약.")
    attributes: bool = Field(default=False, description="Also read the record's attributes.")


class JsonLinesFormat(BaseModel):
    """One JSON object per line (UTF-8)."""

    model_config = _FROZEN
    kind: Literal["jsonl"]


class JsonArrayFormat(BaseModel):
    """A JSON array of objects, or an object holding the array under `records_key`."""

    model_config = _FROZEN
    kind: Literal["json"]
    records_key: str | None = None


class XlsxFormat(BaseModel):
    """An Excel workbook; the header row names the columns."""

    model_config = _FROZEN
    kind: Literal["xlsx"]
    sheet: str | None = Field(default=None, description="Sheet name; default: the first sheet.")
    header_row: int = Field(default=1, ge=1)


FormatSpec = Annotated[
    CsvFormat | FixedWidthFormat | XmlFormat | JsonLinesFormat | JsonArrayFormat | XlsxFormat,
    Field(discriminator="kind"),
]
