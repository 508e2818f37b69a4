"""The ingestion loop: read → map → validate → resolve persons → write records, chunk by chunk.

Memory stays bounded: the reader streams, one chunk of rows is held at a time, and what a
chunk wrote is flushed before the next is read. Reading and mapping (CPU work) run in a worker
thread so a server's event loop keeps answering other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession

from connectors.mapper import Mapped, Mapper, Rejection
from connectors.mapping import Mapping, RecordKind
from connectors.readers import read
from connectors.readers.base import RawRow
from hub.ingest import persons
from hub.ingest.models import IngestRejection
from hub.ingest.records import Outcome, write_enrolments, write_events, write_facts
from hub.vault import KeySet
from schemas.catalogue import Catalogue

CHUNK_ROWS = 2000
KEPT_REJECTIONS = 100
"""How many rejections a report carries inline; all of them are stored with the batch."""

Progress = Callable[[int], None]


@dataclass
class Counts:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    first_rejections: list[Rejection] = field(default_factory=list)


def _next_chunk(rows: Iterator[RawRow], mapper: Mapper, size: int) -> list[Mapped | Rejection]:
    chunk: list[Mapped | Rejection] = []
    for raw in rows:
        chunk.append(mapper.map(raw))
        if len(chunk) >= size:
            break
    return chunk


@dataclass
class Ingestion:
    """One file of one source, sent by one organisation, inside the caller's transaction."""

    session: AsyncSession
    keyset: KeySet
    catalogue: Catalogue
    mapping: Mapping
    organisation: str
    batch_id: uuid.UUID
    now: dt.datetime

    async def run(self, stream: BinaryIO, on_progress: Progress | None = None) -> Counts:
        mapper = Mapper(self.mapping, self.catalogue, self.organisation, now=self.now)
        rows = read(stream, self.mapping.format, required=self.mapping.required_columns)
        counts = Counts()
        while chunk := await asyncio.to_thread(_next_chunk, rows, mapper, CHUNK_ROWS):
            await self._store(chunk, counts)
            if on_progress is not None:
                on_progress(counts.rows)
        return counts

    async def _store(self, chunk: list[Mapped | Rejection], counts: Counts) -> None:
        mapped = [item for item in chunk if isinstance(item, Mapped)]
        outcome = Outcome(rejections=[item for item in chunk if isinstance(item, Rejection)])
        if mapped:
            people = await persons.resolve(self.session, self.keyset, mapped)
            common = {
                "organisation": self.organisation,
                "batch_id": self.batch_id,
                "now": self.now,
                "outcome": outcome,
            }
            if self.mapping.record is RecordKind.ENROLMENT:
                await write_enrolments(
                    self.session, mapped, people, catalogue=self.catalogue, **common
                )
            elif self.mapping.record is RecordKind.ATTRIBUTE:
                await write_facts(self.session, mapped, people, **common)
            else:
                await write_events(self.session, mapped, people, **common)
        if outcome.rejections:
            await self.session.execute(
                IngestRejection.__table__.insert(),
                [
                    {
                        "batch_id": self.batch_id,
                        "row": r.row,
                        "location": r.location,
                        "field": r.field[:200],
                        "reason": r.reason,
                    }
                    for r in outcome.rejections
                ],
            )
        counts.rows += len(chunk)
        counts.inserted += outcome.inserted
        counts.updated += outcome.updated
        counts.unchanged += outcome.unchanged
        counts.rejected += len(outcome.rejections)
        room = KEPT_REJECTIONS - len(counts.first_rejections)
        counts.first_rejections.extend(sorted(outcome.rejections, key=lambda r: r.row)[:room])
