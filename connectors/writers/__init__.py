"""Format writers: the synthetic population's native files, in each source's own layout.

`write` is the mirror of `connectors.readers.read`: whatever it writes for a spec, the reader for
that spec reads back. Writers stream the rows they are given, so a benchmark can write millions
of records in bounded memory. They only write well-formed files; tests that need a broken file
edit the bytes of a good one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from connectors.formats import (
    CsvFormat,
    FixedWidthFormat,
    FormatSpec,
    JsonArrayFormat,
    JsonLinesFormat,
    XlsxFormat,
    XmlFormat,
)
from connectors.writers.csv import write_csv
from connectors.writers.fixed_width import write_fixed_width
from connectors.writers.json import write_json_array, write_json_lines
from connectors.writers.xlsx import write_xlsx
from connectors.writers.xml import write_xml

__all__ = ["Row", "write"]

Row = Mapping[str, str | None]
"""A row to write: column name to text, None (or a missing key) for an absent value."""


def write(path: Path, spec: FormatSpec, columns: tuple[str, ...], rows: Iterable[Row]) -> int:
    """Write `rows` (missing keys count as None) to `path`; return the data rows written.

    `columns` orders the fields for CSV, XLSX, XML and JSON. Fixed-width records take their
    layout from the spec; there `columns` must name only columns the spec lays out.
    """
    if isinstance(spec, CsvFormat):
        return write_csv(path, spec, columns, rows)
    if isinstance(spec, FixedWidthFormat):
        return write_fixed_width(path, spec, columns, rows)
    if isinstance(spec, XmlFormat):
        return write_xml(path, spec, columns, rows)
    if isinstance(spec, JsonLinesFormat):
        return write_json_lines(path, columns, rows)
    if isinstance(spec, JsonArrayFormat):
        return write_json_array(path, spec, columns, rows)
    if isinstance(spec, XlsxFormat):
        return write_xlsx(path, spec, columns, rows)
    raise TypeError(f"no writer for format {type(spec).__name__}")
