"""JSON Lines and JSON array files (UTF-8, Korean text kept as is)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from connectors.formats import JsonArrayFormat


def write_json_lines(
    path: Path, columns: tuple[str, ...], rows: Iterable[Mapping[str, str | None]]
) -> int:
    """One object per line; None values are omitted, as sources leave absent fields out."""
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as file:
        for row in rows:
            file.write(_object(columns, row))
            file.write("\n")
            written += 1
    return written


def write_json_array(
    path: Path,
    spec: JsonArrayFormat,
    columns: tuple[str, ...],
    rows: Iterable[Mapping[str, str | None]],
) -> int:
    """`[` + one object per line + `]`, or `{"<records_key>": [...], "count": N}`.

    The count goes after the array because it is only known once the rows have streamed by;
    the reader accepts top-level members in any order.
    """
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as file:
        if spec.records_key is not None:
            file.write("{" + json.dumps(spec.records_key, ensure_ascii=False) + ": ")
        file.write("[")
        for row in rows:
            file.write(",\n" if written else "\n")
            file.write(_object(columns, row))
            written += 1
        file.write("\n]")
        if spec.records_key is not None:
            file.write(f', "count": {written}}}')
        file.write("\n")
    return written


def _object(columns: tuple[str, ...], row: Mapping[str, str | None]) -> str:
    present = {name: row[name] for name in columns if row.get(name) is not None}
    return json.dumps(present, ensure_ascii=False)
