"""Reading and mapping a large file in a child process, so the mapping (CPU-bound Python) and
the writing (the parent's Python plus the database) run on separate cores instead of taking
turns under one interpreter lock.

The child is not forked from the parent: the parent runs threads (a server, database drivers),
and a forked child could inherit a lock one of them held. It is forked from multiprocessing's
fork server instead, a single-threaded process started once per parent that has already
imported this module (and the program's main module): a child is ready in milliseconds, where a
spawned one took about a second to import the mapping code again for every file. Where there is
no fork server (not on Linux) it is spawned. Chunks travel through a pipe as plain values
(`connectors.mapper.Staged`): the child validated them through the canonical models, and the
parent writes them without rebuilding any model. A send waits while the pipe is full, so at
most about two chunks are in flight and memory stays bounded. The child holds the pipe's only
writing end, so its end, however it comes, ends the parent's read: a child that dies halfway
through sending a chunk cannot leave the parent waiting for the rest. The child also
identifies each chunk's persons (hub.ingest.identities), so it holds the blind-index and
RRN-sealing secrets (`RrnSealer`), passed to it through the spawn pipe and never written
anywhere.
A structural error in the file crosses the pipe as data and is raised again in the parent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import gc
import multiprocessing
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from connectors.mapper import Mapper
from connectors.mapping import Mapping
from connectors.readers import read
from connectors.readers.base import FileStructureError
from hub.ingest.chunks import Chunk, next_chunk, pack, unpack
from hub.kit.allocation import YOUNG_THRESHOLD
from hub.vault import RrnSealer
from schemas.catalogue import load_catalogue

MIN_BYTES = 1 << 20
"""Files smaller than this are mapped in a thread."""
PROCESS_NAME = "hub-ingest-mapping"


def _child(
    path: str,
    mapping: Mapping,
    catalogue_dir: str | None,
    organisation: str,
    now: dt.datetime,
    sealer: RrnSealer,
    chunk_rows: int,
    out: Any,
) -> None:
    """Runs in the child: read, map, identify and send chunks; then None (done) or an error."""
    try:
        gc.set_threshold(YOUNG_THRESHOLD)  # this process does only bulk work (hub.kit.allocation)
        catalogue = load_catalogue(Path(catalogue_dir) if catalogue_dir else None)
        mapper = Mapper(mapping, catalogue, organisation, now=now)
        with open(path, "rb") as stream:
            rows = read(stream, mapping.format, required=mapping.required_columns)
            while chunk := next_chunk(rows, mapper, sealer, chunk_rows):
                out.send(("chunk", pack(chunk._replace(position=stream.tell()))))
        out.send(("done", None))
    except FileStructureError as exc:
        out.send(("structure", (exc.message, exc.location)))
    except Exception as exc:  # reported to the parent, which fails the file
        out.send(("crash", type(exc).__name__))


async def mapped_chunks(
    path: Path,
    mapping: Mapping,
    catalogue_dir: Path | None,
    organisation: str,
    now: dt.datetime,
    sealer: RrnSealer,
    chunk_rows: int,
) -> AsyncGenerator[Chunk, None]:
    """The file's rows, mapped and identified in a child process, a chunk at a time, each
    with the byte position the child had read to (for progress)."""
    context = _context()
    received, out = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(
            str(path),
            mapping,
            str(catalogue_dir) if catalogue_dir else None,
            organisation,
            now,
            sealer,
            chunk_rows,
            out,
        ),
        name=PROCESS_NAME,
        daemon=True,
    )
    child.start()
    out.close()  # the child's copy is now the only writing end

    def receive() -> asyncio.Future[tuple[str, Any]]:
        return asyncio.ensure_future(asyncio.to_thread(_receive, received, child))

    # The next chunk is received (and unpickled, in a worker thread) while the caller writes
    # this one, so that work overlaps the database's instead of following it.
    upcoming = receive()
    try:
        while True:
            kind, payload = await upcoming
            if kind == "chunk":
                upcoming = receive()
                yield payload
            elif kind == "done":
                return
            elif kind == "structure":
                raise FileStructureError(*payload)
            else:
                raise RuntimeError(f"the mapping process failed ({payload})")
    finally:
        if child.is_alive():
            child.terminate()
        # A receive still under way ends as soon as the child is gone (its end of the pipe
        # closes with it).
        await asyncio.gather(upcoming, return_exceptions=True)
        child.join(timeout=10)
        received.close()


@functools.cache
def _context() -> Any:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # "__main__" too: a child re-imports the program's main module unless the server already
    # did (multiprocessing.spawn), and for `hub` that module imports the whole CLI.
    context.set_forkserver_preload(["__main__", __name__])
    return context


def _receive(received: Any, child: Any) -> tuple[str, Any]:
    """The next message; a child that ended without saying so is reported as a crash."""
    try:
        kind, payload = received.recv()
        # Rebuilt here, in the worker thread that unpickled it, off the event loop.
        return (kind, unpack(payload) if kind == "chunk" else payload)
    except (EOFError, OSError):  # ended between messages, or halfway through one
        child.join(timeout=10)
        return ("crash", f"exit code {child.exitcode}")
