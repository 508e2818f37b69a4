"""Large files are mapped in a child process: the outcome is exactly the thread path's (same
counts, same rejections), a structural error found by the child applies nothing, and the
progress callback learns the bytes read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

import hub.models  # noqa: F401 (every table registered)
from connectors.registry import load_mappings
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.ingest.models import IngestRejection
from hub.ingest.service import ingest_file
from hub.kit.errors import InvalidInput
from hub.records.models import Enrolment
from hub.vault import KeySet
from schemas.catalogue import load_catalogue
from tests.factories import new_rrn
from tests.ingest.conftest import csv_file


def _rows(tag: str, count: int) -> list[str]:
    rows = [f"{new_rrn()},큰파일,11350,,{tag}-{i},1001,20240101,,01," for i in range(count)]
    rows[5] = f"{new_rrn()},큰파일,11350,,{tag}-5,1001,20240231,,01,"  # an impossible date
    rows[2500] = f"{new_rrn()},큰파일,11350,,{tag}-2500,7777,20240101,,01,"  # unknown code
    return rows


async def _ingest(db: Database, keys: Path, path: Path, mappings_dir: Path, **options):  # type: ignore[no-untyped-def]
    catalogue = load_catalogue()
    with path.open("rb") as stream:
        return await ingest_file(
            db,
            keyset=KeySet.load(keys),
            catalogue=catalogue,
            mapping=load_mappings(catalogue, [mappings_dir])["test-welfare"],
            organisation="MOHW",
            stream=stream,
            path=path,
            **options,
        )


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
            report = await _ingest(
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
            await _ingest(db, keys_file, path, mappings_dir, process_from_bytes=0)
        assert raised.value.errors == [{"field": "line 4502", "reason": "not valid cp949 text"}]
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Enrolment)) == 0
    finally:
        await db.dispose()
