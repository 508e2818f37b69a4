"""CSV in the source's encoding and delimiter, with a header row (`utf-8-sig` writes a BOM)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from connectors.formats import CsvFormat


def write_csv(
    path: Path,
    spec: CsvFormat,
    columns: tuple[str, ...],
    rows: Iterable[Mapping[str, str | None]],
) -> int:
    """None is written as an empty field, which the reader reads back as None."""
    written = 0
    with path.open("w", encoding=spec.encoding, newline="") as file:
        out = csv.writer(file, delimiter=spec.delimiter, quotechar=spec.quotechar)
        try:
            out.writerow(columns)
            for row in rows:
                out.writerow([row.get(name) or "" for name in columns])
                written += 1
        except UnicodeEncodeError:
            # The encoder's message quotes the character; say only where.
            raise ValueError(
                f"a value near data row {written + 1} cannot be encoded in {spec.encoding}"
            ) from None
    return written
