"""Running one ingestion as one unit of work, and keeping its report.

The whole file is one transaction: a structurally broken file (wrong encoding, truncated,
a missing column) rolls everything back, and the refusal is then recorded as a failed batch
in a short transaction of its own. Row-level problems never stop the file: those rows are
rejected with their reason and the rest is applied.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import structlog

from connectors.mapper import Rejection
from connectors.mapping import Mapping
from connectors.readers.base import FileStructureError
from hub.database import Database
from hub.ingest.mapping_process import MIN_BYTES
from hub.ingest.models import IngestBatch
from hub.ingest.pipeline import Counts, Ingestion, Progress
from hub.kit.clock import utcnow
from hub.kit.errors import Forbidden, InvalidInput, NotFound
from hub.kit.ids import new_uuid
from hub.organisations.models import Organisation
from hub.vault import KeySet
from schemas.catalogue import Catalogue

log = structlog.get_logger("hub.ingest")


@dataclass(frozen=True)
class Report:
    batch: IngestBatch
    first_rejections: list[Rejection]


def fingerprint_file(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of a seekable stream, which is then rewound."""
    digest = hashlib.sha256()
    size = 0
    while block := stream.read(1 << 20):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


def source_for(mappings: dict[str, Mapping], source: str, organisation: str) -> Mapping:
    """The mapping of `source`, if `organisation` may send it (403 otherwise; 404 if unknown)."""
    mapping = mappings.get(source)
    if mapping is None:
        raise NotFound(f"No source {source}; known sources: {', '.join(sorted(mappings))}.")
    if organisation not in mapping.owners:
        raise Forbidden(f"Source {source} belongs to {', '.join(mapping.owners)}.")
    return mapping


def _finish(batch: IngestBatch, counts: Counts) -> None:
    batch.status = "completed"
    batch.rows = counts.rows
    batch.inserted = counts.inserted
    batch.updated = counts.updated
    batch.unchanged = counts.unchanged
    batch.rejected = counts.rejected
    batch.finished_at = utcnow()


async def ingest_file(
    db: Database,
    *,
    keyset: KeySet,
    catalogue: Catalogue,
    mapping: Mapping,
    organisation: str,
    stream: BinaryIO,
    actor: str | None = None,
    on_progress: Progress | None = None,
    path: Path | None = None,
    catalogue_dir: Path | None = None,
    process_from_bytes: int = MIN_BYTES,
) -> Report:
    """Apply one file; raises InvalidInput (nothing applied) if its structure is broken."""
    sha256, size = fingerprint_file(stream)
    batch_id: uuid.UUID = new_uuid()
    started = utcnow()
    identity = {
        "id": batch_id,
        "source": mapping.source,
        "organisation": organisation,
        "actor": actor,
        "file_sha256": sha256,
        "file_bytes": size,
        "started_at": started,
    }
    batch = IngestBatch(**identity, status="running")
    async with db.transaction() as session:
        # Records name their sender without a foreign key (hub.records.models REFERENCE_NOTE).
        if await session.get(Organisation, organisation) is None:
            raise NotFound(f"No organisation {organisation} is registered.")
    try:
        async with db.transaction() as session:
            session.add(batch)
            await session.flush()
            work = Ingestion(session, keyset, catalogue, mapping, organisation, batch_id, started)
            counts = await work.run(
                stream,
                on_progress,
                path=path,
                catalogue_dir=catalogue_dir,
                process_from_bytes=process_from_bytes,
            )
            _finish(batch, counts)
    except FileStructureError as exc:
        failed = IngestBatch(**identity, status="failed", error=str(exc), finished_at=utcnow())
        async with db.transaction() as session:
            session.add(failed)
        log.warning("ingest.refused", source=mapping.source, batch_id=str(batch_id))
        raise InvalidInput(
            f"The file cannot be read as a {mapping.source} file; nothing was applied.",
            errors=[{"field": exc.location or "file", "reason": exc.message}],
            batch_id=str(batch_id),
        ) from None
    log.info(
        "ingest.completed",
        source=mapping.source,
        batch_id=str(batch_id),
        rows=counts.rows,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=counts.rejected,
        seconds={stage: round(value, 3) for stage, value in counts.timings.items()},
    )
    return Report(batch, counts.first_rejections)
