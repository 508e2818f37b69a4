"""The ingestion loop: read → map → validate → resolve persons → write records, chunk by chunk.

Memory stays bounded: the reader streams, one chunk of rows is held at a time, and what a
chunk wrote is flushed before the next is read. Reading and mapping (CPU work) run in a worker
thread so a server's event loop keeps answering other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.mapper import Mapper, Rejection, Staged
from connectors.mapping import Mapping, RecordKind
from connectors.readers import read
from hub.catalogue.models import Programme
from hub.database import bulk_insert, dialect_of
from hub.duplicates import announce
from hub.duplicates.ingested import find_for_enrolments
from hub.duplicates.revisit import revisit
from hub.ingest import persons
from hub.ingest.chunks import Chunk, next_chunk
from hub.ingest.keyfilter import KeyFilter
from hub.ingest.mapping_process import MIN_BYTES, mapped_chunks
from hub.ingest.models import IngestRejection
from hub.ingest.records import Load, Outcome, write_enrolments, write_events, write_facts
from hub.ingest.statistics import Growth
from hub.ingest.unchanged import UnchangedKeys
from hub.kit.allocation import bulk_allocation
from hub.kit.errors import ServiceUnavailable
from hub.kit.ids import as_bulk_uuid
from hub.records.models import AttributeFact, Enrolment, Person, StatusEvent
from hub.records.repository import COLUMN as RRN_COLUMN
from hub.records.repository import TABLE as PERSON_TABLE
from hub.vault import KeySet, RrnSealer
from schemas.catalogue import Catalogue

CHUNK_ROWS = 2000
DUPLICATE_ROWS = 100_000
"""Enrolments written before the duplicate rules look at them (hub.duplicates.ingested). A
rule's query costs nearly as much for one chunk's ids as for fifty chunks' (on a large table
it scans the rule's programmes either way), so the rules run every fifty chunks and at the end
of the file: still in the file's transaction, so a finding commits with the enrolment that
causes it (benchmarks/RESULTS.md, issues 3 and 6). The ids waiting are held in memory, about
15 MB at this size."""
RECORD_MODELS: dict[RecordKind, type[Enrolment | AttributeFact | StatusEvent]] = {
    RecordKind.ENROLMENT: Enrolment,
    RecordKind.ATTRIBUTE: AttributeFact,
    RecordKind.STATUS_EVENT: StatusEvent,
}
RECORD_TABLES = {kind: model.__tablename__ for kind, model in RECORD_MODELS.items()}
KEPT_REJECTIONS = 100
"""How many rejections a report carries inline; all of them are stored with the batch."""

LOCK = 0x6875_6269_6E67  # "hubing": the advisory-lock key that serialises ingestions
Progress = Callable[[int, int | None], None]
"""Called after each chunk with the rows done and, when known, the bytes read so far."""
T = TypeVar("T")


@dataclass
class Counts:
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per stage (waiting for mapped rows, persons, records, …)."""
    programmes: set[str] = field(default_factory=set)
    """Programme codes the stored records name (checked once at the end)."""
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    first_rejections: list[Rejection] = field(default_factory=list)
    unexamined: dict[uuid.UUID, str] = field(default_factory=dict)
    """Enrolments written (id → programme) that the duplicate rules have not yet seen."""
    changed: dict[uuid.UUID, str] = field(default_factory=dict)
    """Of those, the ones that were stored before: their findings are revisited."""
    analysed_programmes: set[str] = field(default_factory=set)
    """Programmes of this file's enrolments that the planner's statistics have seen."""


class Stopwatch:
    """Adds up the seconds spent awaiting each stage."""

    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals

    async def timed(self, stage: str, awaitable: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await awaitable
        finally:
            self.totals[stage] = self.totals.get(stage, 0.0) + time.perf_counter() - started


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
    growth: Growth = field(default_factory=lambda: Growth({}), init=False)
    """What the planner's statistics describe, kept up to date (hub.ingest.statistics); set
    when a run starts."""
    load: Load = field(init=False)
    """What the record writers need of the file, with the keys it met so far; set when a
    run starts."""

    async def run(
        self,
        stream: BinaryIO,
        on_progress: Progress | None = None,
        *,
        path: Path | None = None,
        catalogue_dir: Path | None = None,
        process_from_bytes: int = MIN_BYTES,
    ) -> Counts:
        """Apply the file. With `path` (the same file), a large one is mapped in a child
        process (hub.ingest.mapping_process); otherwise in a worker thread."""
        with bulk_allocation():
            return await self._run(stream, on_progress, path, catalogue_dir, process_from_bytes)

    async def _run(
        self,
        stream: BinaryIO,
        on_progress: Progress | None,
        path: Path | None,
        catalogue_dir: Path | None,
        process_from_bytes: int,
    ) -> Counts:
        postgres = dialect_of(self.session) == "postgresql"
        if postgres:
            # One file at a time: two loads that create the same new persons in different
            # orders would each wait on the other's uncommitted rows (a deadlock). SQLite has
            # a single writer anyway. Held until this file's transaction ends.
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})
        tables = (Person.__tablename__, RECORD_TABLES[self.mapping.record])
        self.growth = await Growth.of(self.session, tables)
        self.load = Load(
            self.session,
            self.organisation,
            as_bulk_uuid(self.batch_id),  # every row written carries it
            self.now,
            unchanged=UnchangedKeys(),
            written=await self._first_load_keys(),
        )
        sealer = RrnSealer.of(self.keyset, table=PERSON_TABLE, column=RRN_COLUMN)
        if path is not None and path.stat().st_size >= process_from_bytes:  # noqa: ASYNC240
            chunks = mapped_chunks(
                path, self.mapping, catalogue_dir, self.organisation, self.now, sealer, CHUNK_ROWS
            )
        else:
            chunks = self._threaded_chunks(stream, sealer)
        counts = Counts()
        clock = Stopwatch(counts.timings)
        # Closed however the file ends, so a failed file stops its mapping at once.
        async with contextlib.aclosing(chunks) as iterator:
            while True:
                try:
                    chunk = await clock.timed("wait_for_mapping", anext(iterator))
                except StopAsyncIteration:
                    break
                await self._store(chunk, counts, clock)
                await clock.timed("analyze", self.growth.refresh(self.session))
                if on_progress is not None:
                    on_progress(counts.rows, chunk.position)
        await clock.timed("duplicates", self._find_duplicates(counts))
        await self.load.unchanged.close(self.session)
        await announce.publish_found_by(self.session, self.found_by, now=self.now)
        await self._check_programmes(counts.programmes)
        return counts

    async def _first_load_keys(self) -> KeyFilter | None:
        """A filter of the keys this file writes, if the source has no records of this kind
        stored yet (hub.ingest.keyfilter).

        Each chunk asks the store what it holds for its keys (`records.stored_versions`).
        When the source had nothing stored as its file began, the only keys the store can hold
        are those the file wrote in earlier chunks, and for most files there are none: the
        lookup then found nothing for every chunk, and cost about a tenth of a large first
        load on SQLite, a twentieth on PostgreSQL (benchmarks/RESULTS.md, issue 3). With the
        filter, a chunk looks up only the keys the file may have written before, and most
        chunks none. On PostgreSQL no other file can add records meanwhile (the file's
        advisory lock, `LOCK`). On SQLite a concurrent file of the same source could add some
        before this one commits; its records then collide with this file's on their unique
        key, which fails this file whole rather than storing a repeat."""
        model = RECORD_MODELS[self.mapping.record]
        stored = await self.session.scalar(
            select(model.id).where(model.source_org == self.organisation).limit(1)
        )
        return KeyFilter() if stored is None else None

    async def _threaded_chunks(
        self, stream: BinaryIO, sealer: RrnSealer
    ) -> AsyncGenerator[Chunk, None]:
        """Map in a worker thread, one chunk ahead of the writer, so the two overlap."""
        mapper = Mapper(self.mapping, self.catalogue, self.organisation, now=self.now)
        rows = read(stream, self.mapping.format, required=self.mapping.required_columns)

        def ahead() -> asyncio.Future[Chunk | None]:
            return asyncio.ensure_future(
                asyncio.to_thread(next_chunk, rows, mapper, sealer, CHUNK_ROWS)
            )

        upcoming = ahead()
        try:
            while chunk := await upcoming:
                upcoming = ahead()
                yield chunk
        finally:
            await asyncio.gather(upcoming, return_exceptions=True)

    async def _check_programmes(self, codes: set[str]) -> None:
        """Every programme the file's records name is in the programmes table: one query per
        file in place of a foreign-key check per row. The mapper already limits codes to the
        catalogue, so a miss means the database's catalogue is behind the code's."""
        if not codes:
            return
        stored = set(
            await self.session.scalars(select(Programme.code).where(Programme.code.in_(codes)))
        )
        missing = sorted(codes - stored)
        if missing:
            raise ServiceUnavailable(
                f"Programmes {', '.join(missing)} are not loaded; run `hub catalogue load`."
            )

    async def _find_duplicates(self, counts: Counts) -> None:
        """Findings for the enrolments written since the last look, in this file's
        transaction: a conflict is recorded when the enrolment that causes it arrives
        (hub.duplicates.ingested)."""
        # The rules' joins are planned on the programme codes' frequencies, and codes this
        # file brings are missing from statistics taken before them: re-analyse when new ones
        # arrive. Once they are there, the doubling rule between chunks keeps the statistics
        # close enough; re-analysing before every look cost a large file a tenth of its time
        # (benchmarks/RESULTS.md, issue 3).
        arriving = set(counts.unexamined.values()) - counts.analysed_programmes
        if arriving:
            await self.growth.refresh(self.session, growth=0.1)
            counts.analysed_programmes |= arriving
        written, counts.unexamined = counts.unexamined, {}
        changed, counts.changed = counts.changed, {}
        await find_for_enrolments(
            self.session, self.catalogue, written, found_by=self.found_by, now=self.now
        )
        await revisit(self.session, self.catalogue, changed, source=self.organisation, now=self.now)

    @property
    def found_by(self) -> str:
        return f"ingest:{self.batch_id}"

    async def _store(self, chunk: Chunk, counts: Counts, clock: Stopwatch) -> None:
        mapped = [item for item in chunk.items if isinstance(item, Staged)]
        outcome = Outcome(rejections=[item for item in chunk.items if isinstance(item, Rejection)])
        if mapped:
            if self.mapping.record is RecordKind.ENROLMENT:
                counts.programmes.update(row.record["programme"] for row in mapped)
            people, created = await clock.timed(
                "persons", persons.resolve(self.session, mapped, chunk.people)
            )
            self.growth.wrote(Person.__tablename__, created)
            if self.mapping.record is RecordKind.ENROLMENT:
                written = await clock.timed(
                    "records", write_enrolments(self.load, mapped, people, outcome)
                )
                counts.unexamined.update(written)
                counts.changed.update(outcome.changed_enrolments)
                if len(counts.unexamined) >= DUPLICATE_ROWS:
                    await clock.timed("duplicates", self._find_duplicates(counts))
            elif self.mapping.record is RecordKind.ATTRIBUTE:
                await clock.timed("records", write_facts(self.load, mapped, people, outcome))
            else:
                writing = write_events(  # with what fanning alerts out in this file needs
                    self.load, mapped, people, outcome, catalogue=self.catalogue, keyset=self.keyset
                )
                await clock.timed("records", writing)
        if outcome.rejections:
            await bulk_insert(
                self.session,
                IngestRejection.__table__,
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
        self.growth.wrote(RECORD_TABLES[self.mapping.record], outcome.inserted)
        counts.rows += len(chunk.items)
        counts.inserted += outcome.inserted
        counts.updated += outcome.updated
        counts.unchanged += outcome.unchanged
        counts.rejected += len(outcome.rejections)
        room = KEPT_REJECTIONS - len(counts.first_rejections)
        counts.first_rejections.extend(sorted(outcome.rejections, key=lambda r: r.row)[:room])
