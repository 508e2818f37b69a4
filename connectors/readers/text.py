"""Pieces every reader shares: bounded line reading, value cleaning, the required-column check.

Kept apart from `base.py` (the contract) so the contract stays a plain data definition.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import BinaryIO

from connectors.readers.base import FileStructureError

MAX_LINE_BYTES = 1 << 20
"""Longest line a line-oriented reader accepts. Without a cap, a file with no line breaks (a
wrong format, or a hostile upload) would be read whole into memory."""


def binary_lines(stream: BinaryIO, *, first_line: int = 1) -> Iterator[bytes]:
    """Yield the lines of `stream` with their endings, refusing any longer than MAX_LINE_BYTES."""
    number = first_line
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES:
            raise FileStructureError(
                f"line is longer than {MAX_LINE_BYTES} bytes", f"line {number}"
            )
        yield line
        number += 1


def clean(value: str | None) -> str | None:
    """Sources pad and leave blanks freely: surrounding whitespace goes, empty means absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def check_required(present: Collection[str], required: tuple[str, ...], location: str) -> None:
    """Refuse the file when a column the mapping needs is not there (usually a renamed column).

    Column names come from the mapping and the header, never from row content, so naming the
    missing one is safe.
    """
    for name in required:
        if name not in present:
            raise FileStructureError(f"missing column {name}", location)


def header_names(names: list[str], location: str) -> list[str]:
    """A header row's column names: trailing empty cells dropped (exports often end rows with
    a delimiter); an unnamed or repeated column breaks the file."""
    while names and not names[-1]:
        names.pop()
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            raise FileStructureError(f"column {position} has no name in the header", location)
        if name in seen:
            raise FileStructureError(f"duplicate column {name}", location)
        seen.add(name)
    return names
