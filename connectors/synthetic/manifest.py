"""What a synthetic run wrote and planted (manifest.json), for the tests and benchmarks that use
the files. It names records only by source and source record id: never an RRN or a name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

_FROZEN = ConfigDict(extra="forbid", frozen=True)

RecordRef = tuple[str, str]
"""(source, source record id)."""
Pair = tuple[RecordRef, RecordRef]
"""The two enrolments of a planted case: side a, then side b of the rule."""


class SourceFile(BaseModel):
    """One native file and what ingesting it into an empty hub must give."""

    model_config = _FROZEN
    source: str
    organisation: str
    """The organisation that sends the file (a source's owner)."""
    file: str
    format: str
    encoding: str | None
    record: str
    rows: int
    """Data rows (headers and trailers not counted), bad ones included."""
    accepted: int
    rejected: int
    unchanged: int
    """Exact duplicate rows: same id, same content."""


class BadRow(BaseModel):
    model_config = _FROZEN
    source: str
    file: str
    row: int
    """1-based data row number in the file."""
    field: str
    """The canonical field the row breaks."""
    kind: str


class PlantedEvent(BaseModel):
    model_config = _FROZEN
    source: str
    source_event_id: str
    type: str
    subject_has_enrolments: bool
    """False for the few events about persons no agency serves (nobody is to be told)."""


class Manifest(BaseModel):
    model_config = _FROZEN
    seed: int
    persons: int
    households: int
    today: date
    files: list[SourceFile]
    planted_duplicates: dict[str, list[Pair]]
    """Rule id → pairs that overlap in the rule's sense (each must be found)."""
    planted_adjacent: dict[str, list[Pair]]
    """Rule id → pairs with adjacent, non-overlapping periods (none may be found)."""
    planted_events: list[PlantedEvent]
    bad_rows: list[BadRow]

    def files_of(self, source: str) -> list[SourceFile]:
        return [f for f in self.files if f.source == source]

    def rows_of(self, source: str) -> int:
        return sum(f.rows for f in self.files_of(source))

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
