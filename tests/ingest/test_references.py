"""Bulk tables carry no per-row foreign keys to organisations or programmes; ingestion checks
those references once per file instead, and a file that names a programme the database does
not hold (a catalogue not loaded) applies nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

import hub.models  # noqa: F401 (every table registered)
from connectors.registry import load_mappings
from hub.catalogue import service as catalogue_service
from hub.catalogue.models import Programme
from hub.database import Database
from hub.ingest.service import ingest_file
from hub.kit.errors import NotFound, ServiceUnavailable
from hub.records.models import Enrolment
from hub.vault import KeySet
from schemas.catalogue import load_catalogue
from tests.factories import new_rrn
from tests.ingest.conftest import csv_file


async def test_missing_programme_refuses_the_file(
    fresh_database_url: str, keys_file: Path, mappings_dir: Path
) -> None:
    catalogue = load_catalogue()
    mapping = load_mappings(catalogue, [mappings_dir])["test-welfare"]
    db = Database(fresh_database_url)
    try:
        await catalogue_service.sync_if_changed(db, catalogue)
        async with db.transaction() as session:
            await session.execute(delete(Programme).where(Programme.code == "MOHW-BLS-EDUCATION"))
        content = csv_file(
            f"{new_rrn()},가온,11350,,X-1,1001,20240101,,01,",
            f"{new_rrn()},나온,11350,,X-2,1004,20240101,,01,",
        )

        async def send(organisation: str) -> None:
            await ingest_file(
                db,
                keyset=KeySet.load(keys_file),
                catalogue=catalogue,
                mapping=mapping,
                organisation=organisation,
                stream=io.BytesIO(content),
            )

        with pytest.raises(ServiceUnavailable, match="MOHW-BLS-EDUCATION"):
            await send("MOHW")
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Enrolment)) == 0
        with pytest.raises(NotFound, match="NOBODY"):
            await send("NOBODY")
    finally:
        await db.dispose()
