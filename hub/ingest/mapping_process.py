"""Reading and mapping a large file in a child process, so the mapping (CPU-bound Python) and
the writing (the parent's Python plus the database) run on separate cores instead of taking
turns under one interpreter lock.

The child is spawned, not forked: the parent runs threads (a server, database drivers), and a
forked child could inherit a lock one of them held. Chunks travel through a bounded queue
(at most a few chunks in flight, so memory stays bounded) as plain data; the parent rebuilds
the canonical records with `model_construct`, since the child already validated them.
A structural error in the file crosses the queue as data and is raised again in the parent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import queue as queues
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from connectors.mapper import Mapped, Mapper, Rejection
from connectors.mapping import Mapping, RecordKind
from connectors.readers import read
from connectors.readers.base import FileStructureError
from schemas.attribute import AttributeFact
from schemas.catalogue import load_catalogue
from schemas.enrolment import EnrolmentRecord
from schemas.event import StatusEventRecord
from schemas.identifiers import ResidentRegistrationNumber
from schemas.person import PersonRecord

MIN_BYTES = 4 << 20
"""Files smaller than this are mapped in a thread: a child costs about a second to start."""
IN_FLIGHT = 3

_RECORDS: dict[RecordKind, type[Any]] = {
    RecordKind.ENROLMENT: EnrolmentRecord,
    RecordKind.STATUS_EVENT: StatusEventRecord,
    RecordKind.ATTRIBUTE: AttributeFact,
}


def _pack(item: Mapped | Rejection) -> tuple[Any, ...]:
    if isinstance(item, Rejection):
        return ("r", item.row, item.location, item.field, item.reason)
    return (
        "m",
        item.row,
        item.location,
        item.rrn.canonical(),
        # The field values as they are (a model's __dict__ holds exactly its fields): a
        # model_dump would copy and convert each one for nothing.
        {k: v for k, v in item.person.__dict__.items() if k != "rrn"},
        item.record.__dict__,
        item.key,
        item.fingerprint,
    )


def _unpack(kind: RecordKind, packed: tuple[Any, ...]) -> Mapped | Rejection:
    if packed[0] == "r":
        return Rejection(*packed[1:])
    _, row, location, digits, person, record, key, fingerprint = packed
    rrn = ResidentRegistrationNumber(digits)
    return Mapped(
        row,
        location,
        rrn,
        PersonRecord.model_construct(rrn=None, **person),
        _RECORDS[kind].model_construct(**record),
        key,
        fingerprint,
    )


def _child(
    path: str,
    mapping: Mapping,
    catalogue_dir: str | None,
    organisation: str,
    now: dt.datetime,
    chunk_rows: int,
    out: Any,
) -> None:
    """Runs in the child: read, map, and send chunks; then None (done) or an error."""
    try:
        catalogue = load_catalogue(Path(catalogue_dir) if catalogue_dir else None)
        mapper = Mapper(mapping, catalogue, organisation, now=now)
        chunk: list[tuple[Any, ...]] = []
        with open(path, "rb") as stream:
            for raw in read(stream, mapping.format, required=mapping.required_columns):
                chunk.append(_pack(mapper.map(raw)))
                if len(chunk) >= chunk_rows:
                    out.put(("chunk", (chunk, stream.tell())))
                    chunk = []
            if chunk:
                out.put(("chunk", (chunk, stream.tell())))
        out.put(("done", None))
    except FileStructureError as exc:
        out.put(("structure", (exc.message, exc.location)))
    except Exception as exc:  # reported to the parent, which fails the file
        out.put(("crash", type(exc).__name__))


async def mapped_chunks(
    path: Path,
    mapping: Mapping,
    catalogue_dir: Path | None,
    organisation: str,
    now: dt.datetime,
    chunk_rows: int,
) -> AsyncIterator[tuple[list[Mapped | Rejection], int | None]]:
    """The file's rows, mapped in a child process, a chunk at a time, each with the byte
    position the child had read to (for progress)."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue(maxsize=IN_FLIGHT)
    child = context.Process(
        target=_child,
        args=(
            str(path),
            mapping,
            str(catalogue_dir) if catalogue_dir else None,
            organisation,
            now,
            chunk_rows,
            out,
        ),
        daemon=True,
    )
    child.start()
    try:
        while True:
            kind, payload = await asyncio.to_thread(_receive, out, child)
            if kind == "chunk":
                packed_rows, position = payload
                yield [_unpack(mapping.record, packed) for packed in packed_rows], position
            elif kind == "done":
                return
            elif kind == "structure":
                raise FileStructureError(*payload)
            else:
                raise RuntimeError(f"the mapping process failed ({payload})")
    finally:
        if child.is_alive():
            child.terminate()
        child.join(timeout=10)
        out.close()


def _receive(out: Any, child: Any) -> tuple[str, Any]:
    """The next message; a child that died without saying so is reported, not waited on."""
    while True:
        try:
            message: tuple[str, Any] = out.get(timeout=1)
            return message
        except queues.Empty:
            if not child.is_alive():
                return ("crash", f"exit code {child.exitcode}")
