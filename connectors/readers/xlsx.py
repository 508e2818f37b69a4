"""Excel workbooks (facility reports, local-government spreadsheets).

openpyxl reads the workbook's parts (the sheet list, the shared strings, the styles that mark
a number as a date, the date epoch); the sheet itself is streamed here with expat, a block
of the zipped XML at a time. openpyxl's own read-only sheet streaming built several objects
per cell and, for a sheet without a stored dimension, read the whole sheet once more first:
about 130 µs a row of eight cells, against about 40 here (benchmarks/RESULTS.md, issue 3).
Cells become text the way a person reads the sheet, as openpyxl's `data_only` reading gives
them (tests/connectors/test_xlsx_sheet.py holds the two to each other): dates as ISO
`YYYY-MM-DD` (a datetime at midnight is a date typed into Excel), whole numbers without `.0`,
booleans as "true"/"false", formulas as their cached results, never the formula text; a
phonetic guide (`rPh`) is not part of a cell's text.

Memory: the sheet is streamed, but a workbook's shared-strings table is loaded whole; Excel's
1,048,576-row limit bounds it, and workbooks written by openpyxl use inline strings instead.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import IO, Any, BinaryIO
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601

from connectors.formats import XlsxFormat
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.csv import EXTRA
from connectors.readers.text import check_required, clean, header_names

SPOOL_IN_MEMORY = 16 * 1024 * 1024
"""Bytes of a non-seekable upload kept in memory before spooling to a temporary file."""
BLOCK = 1 << 16
"""Bytes of sheet XML parsed at a time; the rows they complete are held until yielded."""
UNREADABLE = "not a readable xlsx workbook"
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
"""Element names as expat reports them with namespace processing: namespace, space, name."""
_ROW, _CELL, _VALUE, _TEXT, _PHONETIC = (_NS + n for n in ("row", "c", "v", "t", "rPh"))
Cell = tuple[str | None, int, str | None]
"""A cell as stored: its type (`t`), its style (`s`) and its text."""


def read_xlsx(stream: BinaryIO, spec: XlsxFormat, required: tuple[str, ...]) -> Iterator[RawRow]:
    """Yield the rows after `spec.header_row`; `location` is the sheet's row number."""
    source: IO[bytes] = stream
    spool = None
    if not _seekable(stream):
        # An xlsx is a zip, whose directory sits at the END of the file: it must be seekable.
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
        book = _Book(source)
    except Exception:  # openpyxl raises zipfile, KeyError, XML and value errors alike
        raise FileStructureError(UNREADABLE) from None
    try:
        if spec.sheet is None:
            if not book.sheets:
                raise FileStructureError(UNREADABLE)
            path = next(iter(book.sheets.values()))
        elif spec.sheet in book.sheets:
            path = book.sheets[spec.sheet]
        else:
            raise FileStructureError(f"no sheet named {spec.sheet}")
        header: list[str] | None = None
        number = 0
        for row_number, values in book.rows(path):
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
        book.close()


class _Book:
    """A workbook's parts that its sheets' cells refer to, read by openpyxl."""

    def __init__(self, source: IO[bytes]) -> None:
        reader = ExcelReader(source, read_only=True, data_only=True)
        self._archive: zipfile.ZipFile = reader.archive
        try:
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            present = set(reader.valid_files)
            self.sheets: dict[str, str] = {
                sheet.name: rel.target
                for sheet, rel in reader.parser.find_sheets()
                if rel.target in present and "chartsheet" not in rel.Type
            }
            """Worksheet name → its part in the archive, in the workbook's order."""
            self._strings: list[str] = list(reader.shared_strings)
            self._dates: frozenset[int] = frozenset(reader.wb._date_formats)
            self._durations: frozenset[int] = frozenset(reader.wb._timedelta_formats)
            self._epoch: datetime = reader.wb.epoch
        except BaseException:
            self._archive.close()
            raise

    def close(self) -> None:
        self._archive.close()

    def rows(self, path: str) -> Iterator[tuple[int, list[Any]]]:
        """(sheet row number, cell values from column A to the row's last cell) per stored
        row; a gap between cells is None. Rows the sheet does not store are not yielded."""
        sheet = _SheetParser()
        number = 0
        try:
            with self._archive.open(path) as xml:
                final = False
                while not final:
                    block = xml.read(BLOCK)
                    final = not block
                    sheet.parse(block, final=final)
                    for number, cells in sheet.completed:
                        yield number, [self._value(*cell) for cell in cells]
                    sheet.completed.clear()
        except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, ValueError):
            raise FileStructureError(UNREADABLE, f"row {number + 1}") from None

    def _value(self, kind: str | None, style: int, text: str | None) -> Any:
        """A cell's value as openpyxl's `data_only` reading gives it (its `parse_cell`)."""
        if text is None:
            return None
        if kind is None or kind == "n":
            number = float(text) if "." in text or "E" in text or "e" in text else int(text)
            if style not in self._dates:
                return number
            try:
                return from_excel(number, self._epoch, timedelta=style in self._durations)
            except (OverflowError, ValueError):
                return "#VALUE!"  # a date serial out of range: an error value, as openpyxl has
        if kind == "s":
            try:
                return self._strings[int(text)]
            except IndexError:
                raise ValueError("no such shared string") from None
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
        return text  # inlineStr, str (a formula's text result), e (an error such as #N/A)


class _SheetParser:
    """expat callbacks that collect each row's cells in column order.

    Only a value's `<v>` and an inline string's `<t>` (outside phonetic guides) are text; a
    formula's `<f>` is skipped, since its cached result is what a reader of the sheet sees.
    Rows and cells out of order break the sheet (`ValueError`)."""

    def __init__(self) -> None:
        self.completed: list[tuple[int, list[Cell]]] = []
        """The rows the blocks parsed so far completed, for the caller to take."""
        self._parser = expat.ParserCreate(namespace_separator=" ")
        self._parser.buffer_text = True
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._characters
        self._row = 0
        self._cells: list[Cell] = []
        self._column = 0
        self._kind: str | None = None
        self._style = 0
        self._parts: list[str] = []
        self._collecting = False
        self._phonetic = 0

    def parse(self, block: bytes, *, final: bool) -> None:
        self._parser.Parse(block, final)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        if name == _CELL:
            reference = attributes.get("r")
            column = _column(reference) if reference else self._column + 1
            if column <= self._column:
                raise ValueError("cells out of order")
            self._cells.extend([(None, 0, None)] * (column - self._column - 1))
            self._column = column
            self._kind = attributes.get("t")
            self._style = int(attributes.get("s") or 0)
            self._parts.clear()
        elif name == _VALUE or (name == _TEXT and not self._phonetic):
            self._collecting = True
        elif name == _PHONETIC:
            self._phonetic += 1
        elif name == _ROW:
            reference = attributes.get("r")
            row = int(reference) if reference else self._row + 1
            if row <= self._row:
                raise ValueError("rows out of order")
            self._row = row
            self._cells = []
            self._column = 0

    def _end(self, name: str) -> None:
        if name == _CELL:
            self._cells.append((self._kind, self._style, "".join(self._parts) or None))
        elif name in (_VALUE, _TEXT):
            self._collecting = False
        elif name == _PHONETIC:
            self._phonetic -= 1
        elif name == _ROW:
            self.completed.append((self._row, self._cells))

    def _characters(self, data: str) -> None:
        if self._collecting:
            self._parts.append(data)


@functools.lru_cache(maxsize=1024)
def _column(reference: str) -> int:
    """The column number of a cell reference such as `H12`."""
    return column_index_from_string(reference.rstrip("0123456789"))


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
