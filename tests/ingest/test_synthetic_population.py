"""The whole synthetic population, every source's native file, through the real pipeline into a
fresh database of each backend: the counts per file are exactly what the generator planted
(accepted, rejected, unchanged), registry events change civil status, and a second pass over
every file changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

import hub.models  # noqa: F401 (every table registered)
from connectors.registry import load_mappings
from connectors.synthetic import Manifest, generate
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.ingest.models import IngestRejection
from hub.ingest.service import ingest_file
from hub.records.facts import facts_of
from hub.records.models import AttributeFact, Enrolment, Person, StatusEvent
from hub.vault import KeySet
from schemas.catalogue import load_catalogue

PERSONS = 1500


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    folder = tmp_path_factory.mktemp("synthetic")
    catalogue = load_catalogue()
    manifest = generate(folder, persons=PERSONS, seed=7, mappings=load_mappings(catalogue))
    return folder, manifest


async def _ingest_all(db: Database, keys: KeySet, folder: Path, manifest: Manifest) -> list:
    catalogue = load_catalogue()
    mappings = load_mappings(catalogue)
    reports = []
    order = sorted(manifest.files, key=lambda f: (f.record == "status_event", f.file))
    for entry in order:
        with (folder / entry.file).open("rb") as stream:
            report = await ingest_file(
                db,
                keyset=keys,
                catalogue=catalogue,
                mapping=mappings[entry.source],
                organisation=entry.organisation,
                stream=stream,
            )
        reports.append((entry, report))
    return reports


async def _count(db: Database, model) -> int:  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_every_source_ingests_as_planted(
    fresh_database_url: str, keys_file: Path, population: tuple[Path, Manifest]
) -> None:
    folder, manifest = population
    keys = KeySet.load(keys_file)
    db = Database(fresh_database_url)
    try:
        await catalogue_service.sync_if_changed(db, load_catalogue())
        batches = {}
        for entry, report in await _ingest_all(db, keys, folder, manifest):
            batch = report.batch
            assert batch.status == "completed", entry.file
            got = (batch.rows, batch.inserted, batch.rejected, batch.unchanged)
            want = (entry.rows, entry.accepted, entry.rejected, entry.unchanged)
            assert got == want, f"{entry.file}: rows/inserted/rejected/unchanged {got} != {want}"
            batches[entry.file] = batch.id

        # Every planted bad row is rejected at its row, on the field it breaks.
        async with db.transaction() as session:
            stored = (await session.execute(select(IngestRejection))).scalars().all()
        rejected = {(r.batch_id, r.row): r.field for r in stored}
        expected = [b for b in manifest.bad_rows if b.kind != "exact_duplicate"]
        assert len(rejected) == len(expected)
        for bad in expected:
            field = rejected.get((batches[bad.file], bad.row))
            assert field is not None, f"{bad.file} row {bad.row} ({bad.kind}) was not rejected"
            wanted = "source_record_id" if bad.kind == "conflicting_repeat" else bad.field
            assert field.split(" ")[0] == wanted, f"{bad.file} row {bad.row}: {field} vs {wanted}"

        people = await _count(db, Person)
        assert 0.9 * PERSONS <= people <= PERSONS
        assert await _count(db, StatusEvent) == sum(
            f.accepted for f in manifest.files if f.record == "status_event"
        )
        async with db.transaction() as session:
            deceased = await session.scalar(
                select(func.count()).select_from(Person).where(Person.civil_status == "deceased")
            )
            people_ids = list(await session.scalars(select(Person.id)))
            recipients = {
                fact.person_id
                for fact in await facts_of(session, load_catalogue(), people_ids)
                if fact.attribute == "basic_livelihood.recipient" and fact.programme is not None
            }
            # 생계·의료·주거·교육급여 (MOHW-BLS-*) confer it, unless the enrolment is suspended.
            enrolled = set(
                await session.scalars(
                    select(Enrolment.person_id).where(
                        Enrolment.programme_code.like("MOHW-BLS-%"),
                        Enrolment.status != "suspended",
                    )
                )
            )
        died = sum(1 for e in manifest.planted_events if e.type == "person.died")
        assert deceased == died
        assert recipients
        assert recipients == enrolled

        before = [await _count(db, m) for m in (Person, Enrolment, AttributeFact, StatusEvent)]
        for entry, report in await _ingest_all(db, keys, folder, manifest):
            assert report.batch.inserted == 0, entry.file
            assert report.batch.updated == 0, entry.file
        assert [
            await _count(db, m) for m in (Person, Enrolment, AttributeFact, StatusEvent)
        ] == before
    finally:
        await db.dispose()
