"""Large files are mapped in a child process: the outcome is exactly the thread path's (same
counts, same rejections), a structural error found by the child applies nothing, and the
progress callback learns the bytes read."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import pickle
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import hub.models  # noqa: F401 (every table registered)
from connectors.mapper import Mapper, Rejection, Staged
from connectors.readers import read
from connectors.registry import load_mappings
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.ingest import mapping_process
from hub.ingest.chunks import next_chunk, pack, unpack
from hub.ingest.models import IngestRejection
from hub.kit.errors import InvalidInput
from hub.records.models import Enrolment
from hub.records.repository import COLUMN, TABLE
from hub.vault import KeySet, RrnSealer
from schemas.catalogue import load_catalogue
from tests.factories import new_rrn
from tests.ingest.conftest import csv_file, ingest_test_file


def _rows(tag: str, count: int) -> list[str]:
    rows = [f"{new_rrn()},큰파일,11350,,{tag}-{i},1001,20240101,,01," for i in range(count)]
    rows[5] = f"{new_rrn()},큰파일,11350,,{tag}-5,1001,20240231,,01,"  # an impossible date
    rows[2500] = f"{new_rrn()},큰파일,11350,,{tag}-2500,7777,20240101,,01,"  # unknown code
    return rows


async def test_child_process_and_thread_give_the_same_outcome(
    fresh_database_url: str, keys_file: Path, mappings_dir: Path, tmp_path: Path
) -> None:
    db = Database(fresh_database_url)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        reports = []
        for tag, threshold in (("P", 0), ("T", 1 << 40)):
            path = tmp_path / f"{tag}.csv"
            path.write_bytes(csv_file(*_rows(tag, 4500)))
            positions: list[int | None] = []
            report = await ingest_test_file(
                db,
                keys_file,
                path,
                mappings_dir,
                process_from_bytes=threshold,
                on_progress=lambda rows, position, seen=positions: seen.append(position),
            )
            reports.append(report)
            if tag == "P":
                assert positions[-1] == path.stat().st_size
        child, thread = (r.batch for r in reports)
        assert (child.rows, child.inserted, child.rejected) == (4500, 4498, 2)
        assert (thread.rows, thread.inserted, thread.rejected) == (4500, 4498, 2)
        async with db.transaction() as session:
            found = (
                await session.execute(
                    select(IngestRejection.row, IngestRejection.field).where(
                        IngestRejection.batch_id == child.id
                    )
                )
            ).all()
        assert sorted(found) == [(6, "period_start (급여개시일)"), (2501, "programme (사업코드)")]
    finally:
        await db.dispose()


async def test_a_structural_error_found_by_the_child_applies_nothing(
    fresh_database_url: str, keys_file: Path, mappings_dir: Path, tmp_path: Path
) -> None:
    db = Database(fresh_database_url)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        path = tmp_path / "broken.csv"
        path.write_bytes(csv_file(*_rows("B", 4500)) + b"\xff\xfe,\r\n")
        with pytest.raises(InvalidInput) as raised:
            await ingest_test_file(db, keys_file, path, mappings_dir, process_from_bytes=0)
        assert raised.value.errors == [{"field": "line 4502", "reason": "not valid cp949 text"}]
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Enrolment)) == 0
    finally:
        await db.dispose()


def _mapping_children() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name == mapping_process.PROCESS_NAME]


async def test_a_mapping_process_killed_halfway_fails_the_file_at_once(
    fresh_database_url: str, keys_file: Path, mappings_dir: Path, tmp_path: Path
) -> None:
    """The child holds the pipe's only writing end: when it dies, even in the middle of
    sending a chunk, the parent's read ends and the file fails, with nothing applied."""
    db = Database(fresh_database_url)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        path = tmp_path / "killed.csv"
        path.write_bytes(csv_file(*_rows("K", 20_000)))
        killed: list[int] = []

        def kill_the_child(rows: int, position: int | None) -> None:
            for process in _mapping_children():
                os.kill(process.pid, signal.SIGKILL)  # type: ignore[arg-type]
                killed.append(rows)

        started = time.monotonic()
        with pytest.raises(RuntimeError, match="mapping process failed"):
            await ingest_test_file(
                db, keys_file, path, mappings_dir, process_from_bytes=0,
                on_progress=kill_the_child,
            )  # fmt: skip
        assert killed
        assert time.monotonic() - started < 30
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Enrolment)) == 0
    finally:
        await db.dispose()


class _Stop(Exception):
    pass


async def test_a_writer_that_fails_halfway_stops_the_mapping_process(
    fresh_database_url: str, keys_file: Path, mappings_dir: Path, tmp_path: Path
) -> None:
    """A failure on the writing side ends the file while the next chunk is being received:
    the child is stopped, the receive ends with it, and nothing is applied."""
    db = Database(fresh_database_url)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        path = tmp_path / "stopped.csv"
        path.write_bytes(csv_file(*_rows("S", 20_000)))

        def fail(rows: int, position: int | None) -> None:
            raise _Stop

        started = time.monotonic()
        with pytest.raises(_Stop):
            await ingest_test_file(
                db, keys_file, path, mappings_dir, process_from_bytes=0, on_progress=fail
            )
        assert time.monotonic() - started < 30
        assert not _mapping_children()
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Enrolment)) == 0
    finally:
        await db.dispose()


def test_a_chunk_crosses_the_pipe_unchanged(keys_file: Path, mappings_dir: Path) -> None:
    """What the writer receives is the chunk the child made: the same rows, as `Staged`, and
    the same rejections, through a real pickle round trip (`chunks.pack`/`unpack`)."""
    catalogue = load_catalogue()
    mapping = load_mappings(catalogue, [mappings_dir])["test-welfare"]
    mapper = Mapper(mapping, catalogue, "MOHW", now=dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    sealer = RrnSealer.of(KeySet.load(keys_file), table=TABLE, column=COLUMN)
    rows = read(io.BytesIO(csv_file(*_rows("W", 3000))), mapping.format)
    chunk = next_chunk(rows, mapper, sealer, 3000)
    assert chunk is not None
    sent = pickle.dumps(pack(chunk), protocol=pickle.HIGHEST_PROTOCOL)
    received = unpack(pickle.loads(sent))  # noqa: S301 (the bytes were made here)
    assert received.items == chunk.items
    assert [type(i) for i in received.items] == [type(i) for i in chunk.items]
    assert {type(i) for i in received.items} == {Staged, Rejection}
    assert received.people.rrns == chunk.people.rrns
    assert received.people.ids == chunk.people.ids
