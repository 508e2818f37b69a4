"""The contract every reader keeps.

A reader takes a binary stream and a format spec and yields `RawRow`s lazily, holding at most a
bounded buffer, so files of any size pass in bounded memory. Values are text (or None when
empty or absent); typing, dates and codes are the mapping's job. A file whose structure is
broken (wrong encoding, truncated, malformed, a missing column) raises `FileStructureError`
naming where, never quoting the content (it may hold personal data).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record as the source wrote it."""

    number: int
    """1-based record number among data records (what a rejection reports as `row`)."""
    location: str
    """Where it is in the file, for people: `line 12`, `row 12`, `record 12`."""
    fields: dict[str, str | None]


class FileStructureError(Exception):
    """The file cannot be read as its format says; nothing of it may be applied."""

    def __init__(self, message: str, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)
