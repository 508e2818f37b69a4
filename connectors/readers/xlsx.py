"""Excel workbooks (facility reports, local-government spreadsheets).

openpyxl in read-only mode streams the sheet XML row by row. Cell values are rendered as text
the way a person reads the sheet: dates as ISO `YYYY-MM-DD` (a datetime at midnight is a date
typed into Excel), whole numbers without `.0`, booleans as "true"/"false". Formulas yield their
cached results (`data_only`), never the formula text.

Memory: the sheet is streamed, but a workbook's shared-strings table is loaded whole; Excel's
1,048,576-row limit bounds it, and workbooks written by openpyxl use inline strings instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import IO, Any, BinaryIO

from openpyxl import load_workbook

from connectors.formats import XlsxFormat
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.csv import EXTRA
from connectors.readers.text import check_required, clean, header_names

SPOOL_IN_MEMORY = 16 * 1024 * 1024
"""Bytes of a non-seekable upload kept in memory before spooling to a temporary file."""


def read_xlsx(stream: BinaryIO, spec: XlsxFormat, required: tuple[str, ...]) -> Iterator[RawRow]:
    """Yield the rows after `spec.header_row`; `location` is the sheet's row number."""
    source: IO[bytes] = stream
    spool = None
    if not _seekable(stream):
        # An xlsx is a zip, whose directory sits at the END of the file: openpyxl must seek.
        # Uploads and pipes cannot, so they are spooled (to disk beyond SPOOL_IN_MEMORY).
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        shutil.copyfileobj(stream, spool)
        spool.seek(0)
        source = spool
    try:
        yield from _rows(source, spec, required)
    finally:
        if spool is not None:
            spool.close()


def _rows(source: IO[bytes], spec: XlsxFormat, required: tuple[str, ...]) -> Iterator[RawRow]:
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception:  # openpyxl raises zipfile, KeyError, XML and value errors alike
        raise FileStructureError("not a readable xlsx workbook") from None
    try:
        if spec.sheet is None:
            sheet = workbook.worksheets[0]
        elif spec.sheet in workbook.sheetnames:
            sheet = workbook[spec.sheet]
        else:
            raise FileStructureError(f"no sheet named {spec.sheet}")
        # The stored dimension is often wrong (other writers leave A1); read the rows as stored.
        sheet.reset_dimensions()
        header: list[str] | None = None
        number = 0
        for row_number, values in _sheet_rows(sheet):
            location = f"row {row_number}"
            if row_number < spec.header_row:
                continue
            if row_number == spec.header_row:
                header = _header(values, location)
                check_required(header, required, location)
                continue
            cells = [_text(value) for value in values]
            if not any(cells):
                continue  # fully empty row: spacing in a hand-made sheet
            number += 1
            yield RawRow(number, location, _fields(header or [], cells))
        if header is None:
            raise FileStructureError("empty sheet: no header row", f"row {spec.header_row}")
    finally:
        workbook.close()


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Number the rows (read-only sheets fill gaps with empty rows, so counting is exact)."""
    rows = sheet.iter_rows(min_row=1, values_only=True)
    row_number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception:  # a damaged sheet part surfaces only while streaming
            raise FileStructureError(
                "not a readable xlsx workbook", f"row {row_number + 1}"
            ) from None
        row_number += 1
        yield row_number, values


def _header(values: tuple[Any, ...], location: str) -> list[str]:
    return header_names([_text(value) or "" for value in values], location)


def _fields(header: list[str], cells: list[str | None]) -> dict[str, str | None]:
    fields: dict[str, str | None] = dict.fromkeys(header)
    fields.update(zip(header, cells, strict=False))
    overflow = cells[len(header) :]
    if any(overflow):
        fields[EXTRA] = ",".join(cell or "" for cell in overflow)
    return fields


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return clean(str(value))  # e.g. a timedelta from a duration cell


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False
