"""The synthetic population through the real pipeline, then scans, on each backend.

The generator plants, for every rule, pairs that conflict in the rule's sense (boundaries
included: one shared day, the same month without a shared day, exactly N days apart) and
pairs that only touch (the next day, the next month, N + 1 days apart); the natural population
never breaks a rule. So the findings must be exactly the planted duplicates: found by the
ingestion hook as the files arrive, found again by a scan from nothing, and a second scan adds
nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete, select

import hub.models  # noqa: F401 (every table registered)
from connectors.registry import load_mappings
from connectors.synthetic import Manifest, generate
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.duplicates.models import DuplicateFinding, DuplicateScan
from hub.duplicates.scan import scan
from hub.ingest.service import ingest_file
from hub.records.models import Enrolment
from hub.vault import KeySet
from schemas.catalogue import load_catalogue

PERSONS = 1500

Finding = tuple[str, frozenset[uuid.UUID] | tuple[uuid.UUID, uuid.UUID]]


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    folder = tmp_path_factory.mktemp("synthetic-duplicates")
    catalogue = load_catalogue()
    manifest = generate(folder, persons=PERSONS, seed=7, mappings=load_mappings(catalogue))
    return folder, manifest


SAME_KIND = {r.id for r in load_catalogue().duplicate_rules if r.a.key == r.b.key}


def _key(rule_id: str, a: uuid.UUID, b: uuid.UUID) -> Finding:
    """Same-kind rules (DUP-29..31) name the pair lower id first: compare them unordered."""
    return (rule_id, frozenset({a, b}) if rule_id in SAME_KIND else (a, b))


async def _planted(db: Database, manifest: Manifest) -> tuple[set[Finding], set[Finding]]:
    """The planted duplicate and adjacent pairs, by enrolment id (records are named by source
    and source record id in the manifest; a source's files come from its organisations)."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(Enrolment.source_org, Enrolment.source_record_id, Enrolment.id)
        )
        ids = {(org, record): eid for org, record, eid in rows}
    senders = {
        f.source: {f.organisation for f in manifest.files_of(f.source)} for f in manifest.files
    }

    def enrolment(source: str, record: str) -> uuid.UUID:
        (found,) = [ids[(o, record)] for o in senders[source] if (o, record) in ids]
        return found

    def pairs(planted: dict) -> set[Finding]:
        return {
            _key(rule_id, enrolment(*a), enrolment(*b))
            for rule_id, cases in planted.items()
            for a, b in cases
        }

    return pairs(manifest.planted_duplicates), pairs(manifest.planted_adjacent)


async def _findings(db: Database) -> dict[Finding, str]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(
                DuplicateFinding.rule_id,
                DuplicateFinding.enrolment_a,
                DuplicateFinding.enrolment_b,
                DuplicateFinding.found_by,
            )
        )
        return {_key(rule, a, b): found_by for rule, a, b, found_by in rows}


async def test_planted_duplicates_are_found_and_adjacent_periods_are_not(
    fresh_database_url: str, keys_file: Path, population: tuple[Path, Manifest]
) -> None:
    folder, manifest = population
    catalogue = load_catalogue()
    mappings = load_mappings(catalogue)
    keys = KeySet.load(keys_file)
    db = Database(fresh_database_url)
    try:
        await catalogue_service.sync_if_changed(db, catalogue)
        for entry in sorted(manifest.files, key=lambda f: (f.record == "status_event", f.file)):
            with (folder / entry.file).open("rb") as stream:
                await ingest_file(
                    db,
                    keyset=keys,
                    catalogue=catalogue,
                    mapping=mappings[entry.source],
                    organisation=entry.organisation,
                    stream=stream,
                )
        duplicates, adjacent = await _planted(db, manifest)
        # Every rule some source reports has planted cases (a few per rule).
        assert len(manifest.planted_duplicates) >= 25
        assert len(duplicates) >= 3 * 25
        assert not duplicates & adjacent

        # 1. The ingestion hook found each conflict as its second enrolment arrived.
        found = await _findings(db)
        assert set(found) - duplicates == set(), "findings that were not planted"
        assert duplicates - set(found) == set(), "planted duplicates not found on ingestion"
        assert all(by.startswith("ingest:") for by in found.values())

        # 2. A scan from nothing finds exactly the same.
        async with db.transaction() as session:
            await session.execute(delete(DuplicateFinding))
        async with db.transaction() as session:
            first = await scan(session, catalogue, requested_by="test")
        assert first.scan.status == "completed"
        assert first.scan.rule_set_hash == catalogue.duplicate_rules_hash
        assert first.scan.new_findings == first.scan.matched == len(duplicates)
        assert [o.rule_id for o in first.rules] == [r.id for r in catalogue.duplicate_rules]
        found = await _findings(db)
        assert set(found) == duplicates
        assert not set(found) & adjacent
        assert set(found.values()) == {f"scan:{first.scan.id}"}

        # 3. A second scan matches the same pairs and adds nothing.
        async with db.transaction() as session:
            second = await scan(session, catalogue, requested_by="test")
        assert (second.scan.matched, second.scan.new_findings) == (len(duplicates), 0)
        assert await _findings(db) == found
        async with db.transaction() as session:
            scans = (await session.scalars(select(DuplicateScan))).all()
        assert {s.id for s in scans} == {first.scan.id, second.scan.id}
    finally:
        await db.dispose()
