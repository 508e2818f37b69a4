"""The ingestion hook: a conflicting enrolment creates its finding in the same transaction as
the enrolment (no scan needed), found by `ingest:<batch id>`; re-sending the files changes
nothing; a changed enrolment that now conflicts is found too; suspended enrolments and
adjacent periods are not."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest

from hub.database import Database
from hub.ingest import pipeline
from tests.duplicates.sources import Row, Sources, findings_among, kfs_xlsx, mohw_csv
from tests.factories import new_rrn

D = dt.date
ADULT = D(1980, 5, 5)


async def test_a_conflicting_enrolment_is_found_when_it_arrives(
    database_url: str, keys_file: Path
) -> None:
    tag = secrets.token_hex(4).upper()
    worker, neighbour, later, resting = (new_rrn(ADULT) for _ in range(4))
    db = Database(database_url)
    sources = Sources(db, keys_file)
    try:
        await sources.ready()
        first = mohw_csv(
            [
                Row(f"W{tag}1", worker, "MOHW-SELF-SUPPORT-WORK", D(2024, 1, 1), D(2024, 6, 30)),
                Row(f"W{tag}2", neighbour, "MOHW-SELF-SUPPORT-WORK", D(2024, 1, 1), D(2024, 6, 30)),
                Row(f"W{tag}3", later, "MOHW-SELF-SUPPORT-WORK", D(2023, 1, 1), D(2023, 6, 30)),
                Row(
                    f"W{tag}4", resting, "MOHW-SELF-SUPPORT-WORK", D(2024, 1, 1), None, "suspended"
                ),
            ]
        )
        await sources.send("mohw", "MOHW", first)
        ids = {f"W{tag}{n}" for n in range(1, 5)} | {f"F{tag}{n}" for n in range(1, 5)}
        assert await findings_among(db, ids) == []

        # 공공산림가꾸기 arrives: the worker now holds two publicly funded jobs (DUP-02).
        forest = kfs_xlsx(
            [
                Row(f"F{tag}1", worker, "KFS-FOREST-TENDING", D(2024, 3, 1), D(2024, 4, 30)),
                # the day after 자활근로 ended: adjacent, not a duplicate
                Row(f"F{tag}2", neighbour, "KFS-FOREST-TENDING", D(2024, 7, 1), D(2024, 9, 30)),
                Row(f"F{tag}3", later, "KFS-FOREST-TENDING", D(2024, 1, 1), D(2024, 3, 31)),
                # 자활근로 is suspended (중지): nothing is paid, no double payment
                Row(f"F{tag}4", resting, "KFS-FOREST-TENDING", D(2024, 2, 1), D(2024, 3, 31)),
            ]
        )
        report = await sources.send("kfs", "KFS", forest)
        found = await findings_among(db, ids)
        assert found == [
            (
                "DUP-02",
                f"W{tag}1",
                f"F{tag}1",
                D(2024, 3, 1),
                D(2024, 4, 30),
                f"ingest:{report.batch.id}",
            ),
        ]

        # Re-sending both files changes nothing.
        for source, organisation, content in (("mohw", "MOHW", first), ("kfs", "KFS", forest)):
            again = await sources.send(source, organisation, content)
            assert (again.batch.inserted, again.batch.updated) == (0, 0)
        assert await findings_among(db, ids) == found

        # A changed enrolment that now conflicts: the later 자활근로 is corrected to 2024.
        corrected = mohw_csv(
            [Row(f"W{tag}3", later, "MOHW-SELF-SUPPORT-WORK", D(2023, 7, 1), D(2024, 1, 31))]
        )
        fix = await sources.send("mohw", "MOHW", corrected)
        assert fix.batch.updated == 1
        assert await findings_among(db, ids) == [
            *found,
            (
                "DUP-02",
                f"W{tag}3",
                f"F{tag}3",
                D(2024, 1, 1),
                D(2024, 1, 31),
                f"ingest:{fix.batch.id}",
            ),
        ]
    finally:
        await db.dispose()


async def test_a_conflict_in_a_later_look_of_a_large_file_is_found(
    database_url: str, keys_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file's rules look at its enrolments every DUPLICATE_ROWS rows, and the
    statistics are refreshed only for a look that brings programmes new to the file: a
    conflict in the third look, of a programme the first look already saw, is still found
    (with chunks and looks shrunk to a few rows)."""
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    monkeypatch.setattr(pipeline, "DUPLICATE_ROWS", 2)
    tag = secrets.token_hex(4).upper()
    others = [new_rrn(ADULT) for _ in range(4)]
    worker = new_rrn(ADULT)
    db = Database(database_url)
    sources = Sources(db, keys_file)
    try:
        await sources.ready()
        forest = kfs_xlsx(
            [Row(f"G{tag}1", worker, "KFS-FOREST-TENDING", D(2024, 3, 1), D(2024, 4, 30))]
        )
        await sources.send("kfs", "KFS", forest)
        work = [
            Row(f"V{tag}{n}", rrn, "MOHW-SELF-SUPPORT-WORK", D(2024, 1, 1), D(2024, 6, 30))
            for n, rrn in enumerate(others)
        ]
        work.append(
            Row(f"V{tag}9", worker, "MOHW-SELF-SUPPORT-WORK", D(2024, 4, 1), D(2024, 12, 31))
        )
        report = await sources.send("mohw", "MOHW", mohw_csv(work))
        assert report.batch.inserted == 5
        ids = {row.record_id for row in work} | {f"G{tag}1"}
        assert await findings_among(db, ids) == [
            (
                "DUP-02",
                f"V{tag}9",
                f"G{tag}1",
                D(2024, 4, 1),
                D(2024, 4, 30),
                f"ingest:{report.batch.id}",
            )
        ]
    finally:
        await db.dispose()
