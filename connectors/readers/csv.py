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
import itertools
from collections.abc import Iterator
from typing import BinaryIO

from connectors.formats import CsvFormat
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.text import (
    MAX_LINE_BYTES,
    binary_lines,
    check_required,
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
    # `text.clean`, inline: csv gives every value as text, and a call per value is a tenth of
    # reading a row.
    fields = {name: value.strip() or None for name, value in zip(header, record, strict=False)}
    if len(record) < width:
        for name in header[len(record) :]:
            fields[name] = None
    elif len(record) > width:
        overflow = record[width:]
        if any(value.strip() for value in overflow):
            fields[EXTRA] = delimiter.join(overflow)
    return fields


LINES_AT_ONCE = 256
"""Lines decoded in one call: a call per line cost more than the decoding."""


def _text_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """Decode `stream` into text lines (endings kept, as csv wants), naming the line that fails.

    An incremental decoder carries multi-byte state across lines, and the text is re-split on
    `\\n` so that encodings whose bytes do not split cleanly at b"\\n" still produce whole lines.
    Lines are decoded LINES_AT_ONCE at a time; when a batch fails, it is decoded again a line
    at a time from the decoder's state before it, to name the line.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    pending = ""
    number = 1  # the line being decoded
    lines = binary_lines(stream)
    while True:
        batch = list(itertools.islice(lines, LINES_AT_ONCE))
        state = decoder.getstate()
        try:
            text = decoder.decode(b"".join(batch), final=not batch)
        except UnicodeDecodeError:
            decoder.setstate(state)
            raise FileStructureError(
                f"not valid {encoding} text",
                f"line {_failing_line(decoder, batch, pending, number)}",
            ) from None
        pieces = (pending + text).split("\n")
        pending = pieces.pop()
        number += len(pieces)
        for piece in pieces:
            yield piece + "\n"
        if not batch:
            break
        if len(pending) > MAX_LINE_BYTES:
            raise FileStructureError("line is too long", f"line {number}")
    if pending:
        yield pending  # a last line without a line ending


def _failing_line(
    decoder: codecs.IncrementalDecoder, batch: list[bytes], pending: str, number: int
) -> int:
    """The number of the text line on which decoding `batch` a line at a time fails."""
    for line in batch:
        try:
            text = decoder.decode(line)
        except UnicodeDecodeError:
            return number
        pending += text
        number += pending.count("\n")
        pending = pending[pending.rfind("\n") + 1 :]
    return number  # none did: the file ends in the middle of a character
