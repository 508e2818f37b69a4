"""The scan's two entry points: `POST /v1/duplicates/scans` (operators only: 401 without a
token, 403 without `admin`, 201 with it, replayed by Idempotency-Key) and `hub duplicates
scan` (help, a run with its summary table)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from typer.testing import CliRunner

from hub.cli import app
from hub.database import Database
from hub.duplicates.models import DuplicateScan
from schemas.catalogue import load_catalogue
from tests.factories import bearer, new_client


async def test_only_operators_may_scan(api: httpx.AsyncClient, db: Database) -> None:
    assert (await api.post("/v1/duplicates/scans")).status_code == 401
    ministry = await new_client(db, scopes="duplicates:check")
    refused = await api.post("/v1/duplicates/scans", headers=await bearer(api, ministry))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_an_operator_scan_returns_its_record(api: httpx.AsyncClient, db: Database) -> None:
    operator = await new_client(db, scopes="admin")
    headers = await bearer(api, operator) | {"Hub-Actor": "ops.kim"}
    response = await api.post("/v1/duplicates/scans", headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    catalogue = load_catalogue()
    assert body["status"] == "completed"
    assert body["rule_set_hash"] == catalogue.duplicate_rules_hash
    assert body["requested_by"] == f"{operator.client_id} (ops.kim)"
    assert [r["rule_id"] for r in body["rules"]] == [r.id for r in catalogue.duplicate_rules]
    assert body["matched"] == sum(r["matched"] for r in body["rules"])
    assert body["new_findings"] == sum(r["new_findings"] for r in body["rules"])
    assert body["seconds"] >= 0
    async with db.transaction() as session:
        stored = await session.get(DuplicateScan, uuid.UUID(body["id"]))
    assert stored is not None
    assert stored.matched == body["matched"]

    # The same Idempotency-Key replays the first answer instead of scanning again.
    keyed = headers | {"Idempotency-Key": f"scan-{uuid.uuid4()}"}
    first = await api.post("/v1/duplicates/scans", headers=keyed)
    again = await api.post("/v1/duplicates/scans", headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()


def test_the_scan_command(fresh_database_url: str, tmp_path: Path) -> None:
    # A database of its own: on the shared SQLite file the session app's alerts worker sweeps
    # the events other tests' scans announced, and the two writers waited on each other.
    runner = CliRunner()
    env = {
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",
        "HUB_DATABASE_URL": fresh_database_url,
    }
    helped = runner.invoke(app, ["duplicates", "scan", "--help"], env=env)
    assert helped.exit_code == 0
    assert "all duplicate rules" in helped.output
    result = runner.invoke(app, ["duplicates", "scan"], env=env)
    assert result.exit_code == 0, result.output
    for rule in load_catalogue().duplicate_rules:
        assert rule.id in result.output
    assert "new findings" in result.output
    assert "matched" in result.output
