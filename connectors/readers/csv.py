"""Delimited text with a header row, in any encoding (행복e음 exports are CP949).

The bytes are decoded line by line by this module rather than by `io.TextIOWrapper`, so a wrong
encoding is reported with the line it broke on instead of an 8 KiB chunk somewhere in the file.
Rows longer or shorter than the header are passed on as they are (overflow under `__extra__`,
missing trailing fields as None): that is one bad row, which the mapping rejects with its line,
not a broken file.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from typing import BinaryIO

from connectors.formats import CsvFormat
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.text import (
    MAX_LINE_BYTES,
    binary_lines,
    check_required,
    clean,
    header_names,
)

EXTRA = "__extra__"
"""Key under which fields beyond the header's columns travel, joined by the delimiter."""


def read_csv(stream: BinaryIO, spec: CsvFormat, required: tuple[str, ...]) -> Iterator[RawRow]:
    """Yield one row per CSV record; `location` is the physical line the record starts on."""
    reader = csv.reader(
        _text_lines(stream, spec.encoding),
        delimiter=spec.delimiter,
        quotechar=spec.quotechar,
        strict=True,  # an unclosed quote at the end of the file means truncation: refuse it
    )
    header: list[str] | None = None
    number = 0
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # csv's messages carry no content, but ours says the same in the house style.
            raise FileStructureError(
                "malformed CSV: bad quoting, line endings or an over-long field", f"line {start}"
            ) from None
        if not any(field.strip() for field in record):
            continue  # blank line, or a row of bare delimiters left by a spreadsheet
        if header is None:
            header = _header(record, f"line {start}")
            check_required(header, required, f"line {start}")
            continue
        number += 1
        yield RawRow(number, f"line {start}", _fields(header, record, spec.delimiter))
    if header is None:
        raise FileStructureError("empty file")


def _header(record: list[str], location: str) -> list[str]:
    names = [name.strip() for name in record]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0].lstrip("\ufeff").strip()  # a BOM read as `utf-8` instead of `-sig`
    return header_names(names, location)


def _fields(header: list[str], record: list[str], delimiter: str) -> dict[str, str | None]:
    width = len(header)
    fields = {name: clean(value) for name, value in zip(header, record, strict=False)}
    if len(record) < width:
        for name in header[len(record) :]:
            fields[name] = None
    elif len(record) > width:
        overflow = record[width:]
        if any(value.strip() for value in overflow):
            fields[EXTRA] = delimiter.join(overflow)
    return fields


def _text_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """Decode `stream` into text lines (endings kept, as csv wants), naming the line that fails.

    An incremental decoder carries multi-byte state across lines, and the text is re-split on
    `\\n` so that encodings whose bytes do not split cleanly at b"\\n" still produce whole lines.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    pending = ""
    number = 1  # the line being decoded
    chunks = binary_lines(stream)
    while True:
        chunk = next(chunks, None)
        try:
            text = decoder.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError:
            raise FileStructureError(f"not valid {encoding} text", f"line {number}") from None
        if chunk is None:
            pending += text
            break
        if not pending and text and text.find("\n") == len(text) - 1:
            number += 1
            yield text  # the usual case: one byte line is one text line
            continue
        pending += text
        while (cut := pending.find("\n")) >= 0:
            number += 1
            yield pending[: cut + 1]
            pending = pending[cut + 1 :]
        if len(pending) > MAX_LINE_BYTES:
            raise FileStructureError("line is too long", f"line {number}")
    while (cut := pending.find("\n")) >= 0:
        yield pending[: cut + 1]
        pending = pending[cut + 1 :]
    if pending:
        yield pending  # a last line without a line ending
