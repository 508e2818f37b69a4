"""Format readers for source files.

`read` is the one entry point: it picks the reader for `spec.kind` and returns a lazy iterator of
`RawRow`s (see `base.py` for the contract). Every reader holds a bounded buffer, so a ministry's
multi-gigabyte extract passes through in constant memory.

A `FileStructureError` can surface after some rows were already yielded (a fixed-width trailer
that states the wrong count, a JSON array that is never closed): the caller must treat the whole
file as failed and apply nothing of it, which the ingest batch does by collecting before commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from connectors.formats import (
    CsvFormat,
    FixedWidthFormat,
    FormatSpec,
    JsonArrayFormat,
    JsonLinesFormat,
    XlsxFormat,
    XmlFormat,
)
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.csv import read_csv
from connectors.readers.fixed_width import read_fixed_width
from connectors.readers.json import read_json_array, read_json_lines
from connectors.readers.xlsx import read_xlsx
from connectors.readers.xml import read_xml

__all__ = ["FileStructureError", "RawRow", "read"]


def read(stream: BinaryIO, spec: FormatSpec, *, required: tuple[str, ...] = ()) -> Iterator[RawRow]:
    """Yield the data records of `stream` as laid out by `spec`.

    `required` names the columns the mapping cannot do without; a file that lacks one is refused
    as a whole (`FileStructureError("missing column …")`) rather than rejecting every row.
    """
    if isinstance(spec, CsvFormat):
        return read_csv(stream, spec, required)
    if isinstance(spec, FixedWidthFormat):
        return read_fixed_width(stream, spec)
    if isinstance(spec, XmlFormat):
        return read_xml(stream, spec, required)
    if isinstance(spec, JsonLinesFormat):
        return read_json_lines(stream, required)
    if isinstance(spec, JsonArrayFormat):
        return read_json_array(stream, spec, required)
    if isinstance(spec, XlsxFormat):
        return read_xlsx(stream, spec, required)
    raise TypeError(f"no reader for format {type(spec).__name__}")
