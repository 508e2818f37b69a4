"""An app with an extra mappings folder holding sources that exist only in the tests, so the
tests also prove that a new source needs nothing but a mapping file."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connectors.registry import load_mappings
from hub.database import Database
from hub.ingest.service import ingest_file
from hub.main import create_app
from hub.vault import KeySet
from schemas.catalogue import load_catalogue
from tests.conftest import make_settings
from tests.factories import asgi_client

TEST_ENROLMENTS = textwrap.dedent(
    """\
    source: test-welfare
    owners: [MOHW]
    description: A test-only source in the shape of a 행복e음 export (CP949, Korean headers).
    record: enrolment
    format: {kind: csv, encoding: cp949}
    fields:
      rrn: {column: 주민등록번호}
      name: {column: 성명}
      region_code: {column: 시군구코드}
      household_id: {column: 가구번호, required: false}
      source_record_id: {column: 급여ID}
      programme:
        column: 사업코드
        codes:
          "1001": MOHW-BLS-LIVELIHOOD
          "1004": MOHW-BLS-EDUCATION
          "2001": MOHW-SELF-SUPPORT-WORK
      period_start: {column: 급여개시일, date: ["%Y%m%d"]}
      period_end: {column: 급여종료일, date: ["%Y%m%d"], required: false, blank: ["99991231"]}
      status: {column: 상태, codes: {"01": active, "02": suspended, "09": ended}}
      amount_won: {column: 지급액, required: false}
    """
)
TEST_EVENTS = textwrap.dedent(
    """\
    source: test-registry
    owners: [MOIS-RRS]
    description: A test-only registry change feed (JSON Lines).
    record: status_event
    format: {kind: jsonl}
    fields:
      rrn: {column: rrn}
      name: {column: name}
      region_code: {column: region}
      source_event_id: {column: event_id}
      type: {column: kind, codes: {DEATH: person.died, MOVE: person.address_changed}}
      effective_date: {column: date, date: ["%Y-%m-%d"]}
      new_region_code: {column: new_region, required: false}
    """
)
HEADER = "주민등록번호,성명,시군구코드,가구번호,급여ID,사업코드,급여개시일,급여종료일,상태,지급액"


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("cp949")


async def ingest_test_file(  # type: ignore[no-untyped-def]
    db: Database, keys: Path, path: Path, mappings_dir: Path, **options
):
    """`path` as `hub ingest` loads it (a file from 1 MB maps in a child process), as MOHW's
    test-welfare source."""
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


@pytest.fixture(scope="session")
def mappings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mappings")
    (folder / "test-welfare.yaml").write_text(TEST_ENROLMENTS, encoding="utf-8")
    (folder / "test-registry.yaml").write_text(TEST_EVENTS, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
async def ingest_app(
    database_url: str, keys_file: Path, mappings_dir: Path
) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, keys_file).model_copy(
        update={"mappings_dir": mappings_dir}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def ingest_api(ingest_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(ingest_app) as client:
        yield client
