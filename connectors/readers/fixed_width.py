"""Fixed-width records in a legacy encoding (EUC-KR/CP949 mainframe extracts).

Offsets and widths are in BYTES of the encoded record, as the mainframe copybooks state them, so
each line is sliced as bytes and every slice decoded on its own; a slice that cuts a Hangul
syllable in half means the layout does not match the file and is reported with its line.

Extracts that mark records with a type code (H header, D data, T trailer) are checked for
completeness: a transfer cut short loses its trailer, and the trailer's count catches lost
records. Those checks can only fail at the end of the file, after data rows were yielded, so the
caller must apply nothing of a file that raised (see `connectors.readers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from connectors.formats import FixedColumn, FixedWidthFormat, RecordType
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.text import binary_lines, clean


def read_fixed_width(stream: BinaryIO, spec: FixedWidthFormat) -> Iterator[RawRow]:
    """Yield the data records; `location` is the line number, counting every line of the file."""
    layout = [(c.name, c.start - 1, c.start - 1 + c.width) for c in spec.columns]
    shortest = max(end for _, _, end in layout)
    kinds = spec.record_type
    number = 0
    seen_records = 0
    trailer_line: int | None = None
    for line_number, raw in enumerate(binary_lines(stream), start=1):
        record = raw.rstrip(b"\r\n")
        if not record.strip():
            continue  # blank lines (a final newline, a padded tail) carry nothing
        location = f"line {line_number}"
        if trailer_line is not None:
            raise FileStructureError("record after the trailer record", location)
        seen_records += 1
        if kinds is not None:
            code = _slice(record, kinds.start, kinds.width, spec.encoding, "record type", location)
            if code == kinds.header:
                if seen_records != 1:
                    raise FileStructureError("header record is not the first record", location)
                continue
            if kinds.header is not None and seen_records == 1:
                raise FileStructureError("header record missing", location)
            if code == kinds.trailer:
                _check_trailer(record, kinds, spec.encoding, number, location)
                trailer_line = line_number
                continue
            if code != kinds.data:
                raise FileStructureError("unknown record type", location)
        _check_length(record, spec.record_length, shortest, location)
        number += 1
        yield RawRow(number, location, _fields(record, layout, spec.encoding, location))
    if kinds is not None:
        if kinds.header is not None and seen_records == 0:
            raise FileStructureError("empty file: header record missing")
        if kinds.trailer is not None and trailer_line is None:
            raise FileStructureError("truncated: trailer record missing")


def _check_length(record: bytes, record_length: int | None, shortest: int, location: str) -> None:
    if record_length is not None and len(record) != record_length:
        raise FileStructureError(
            f"record is {len(record)} bytes, expected {record_length}", location
        )
    if len(record) < shortest:
        raise FileStructureError(
            f"record is {len(record)} bytes, expected at least {shortest}", location
        )


def _fields(
    record: bytes, layout: list[tuple[str, int, int]], encoding: str, location: str
) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    for name, start, end in layout:
        try:
            fields[name] = clean(record[start:end].decode(encoding))
        except UnicodeDecodeError:
            raise FileStructureError(
                f"column {name} is not valid {encoding} text", location
            ) from None
    return fields


def _slice(record: bytes, start: int, width: int, encoding: str, what: str, location: str) -> str:
    if len(record) < start + width - 1:
        raise FileStructureError(f"record is too short to hold its {what}", location)
    try:
        return record[start - 1 : start - 1 + width].decode(encoding).strip()
    except UnicodeDecodeError:
        raise FileStructureError(f"{what} is not valid {encoding} text", location) from None


def _check_trailer(
    record: bytes, kinds: RecordType, encoding: str, data_records: int, location: str
) -> None:
    """The trailer's count must match what arrived, or records were lost or duplicated."""
    slot: FixedColumn | None = kinds.trailer_count
    if slot is None:
        return
    stated = _slice(record, slot.start, slot.width, encoding, "trailer count", location)
    if not (stated.isascii() and stated.isdigit()):
        raise FileStructureError("trailer count is not a number", location)
    if int(stated) != data_records:
        raise FileStructureError(
            f"trailer says {int(stated)} records, file has {data_records}", location
        )
