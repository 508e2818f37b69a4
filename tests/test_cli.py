"""The `hub` command as an operator uses it: help everywhere, keys, database, organisations,
clients, catalogue, the OpenAPI check, and `hub demo` end to end (its curl lines work)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from hub.cli import app
from tests.factories import free_port

runner = CliRunner()


def hub(tmp_path: Path, *args: str, database_url: str | None = None) -> tuple[int, str]:
    env = {"HUB_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    if database_url:
        env["HUB_DATABASE_URL"] = database_url
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def all_command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command, prefix):  # type: ignore[no-untyped-def]
        paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(get_command(app), [])
    return paths


def test_help_lists_every_command(tmp_path: Path) -> None:
    code, output = hub(tmp_path, "--help")
    assert code == 0
    for name in ("serve", "demo", "openapi", "db", "keys", "orgs", "clients", "catalogue"):
        assert name in output


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "hub")
def test_every_command_has_help(tmp_path: Path, path: list[str]) -> None:
    code, output = hub(tmp_path, *path, "--help")
    assert code == 0, output
    assert "Usage" in output
    assert len(output.strip().splitlines()) > 3


def test_keys_lifecycle(tmp_path: Path) -> None:
    code, output = hub(tmp_path, "keys", "init")
    assert code == 0, output
    keys = tmp_path / "var" / "keys.json"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    code, output = hub(tmp_path, "keys", "init")
    assert code == 1
    assert "exists already" in output
    code, output = hub(tmp_path, "keys", "list")
    assert code == 0
    assert "rrn-encryption" in output
    assert "primary" in output
    material = json.loads(keys.read_text())["keys"][0]["material"]
    assert all(value not in output for value in material.values())
    code, output = hub(tmp_path, "keys", "rotate", "pseudonym")
    assert code == 1
    assert "refusing" in output
    code, output = hub(tmp_path, "keys", "rotate", "rrn-encryption")
    assert code == 0
    assert "hub keys reencrypt" in output
    code, output = hub(tmp_path, "keys", "rotate", "no-such-purpose")
    assert code == 2


def test_orgs_and_clients(tmp_path: Path) -> None:
    assert hub(tmp_path, "keys", "init")[0] == 0
    assert hub(tmp_path, "db", "upgrade")[0] == 0
    code, output = hub(
        tmp_path,
        "orgs",
        "add",
        "TEST-ORG",
        "--kind",
        "welfare_centre",
        "--name-ko",
        "시험복지관",
        "--name-en",
        "Test centre",
        "--region",
        "11350",
    )
    assert code == 0, output
    code, output = hub(
        tmp_path, "orgs", "add", "TEST-ORG", "--kind", "auditor", "--name-ko", "x", "--name-en", "x"
    )
    assert code == 1
    assert "exists already" in output
    code, output = hub(
        tmp_path, "orgs", "add", "bad code", "--kind", "auditor", "--name-ko", "x", "--name-en", "x"
    )
    assert code == 1
    assert "not valid" in output
    assert "code" in output
    code, output = hub(
        tmp_path,
        "orgs",
        "add",
        "WC-NOREGION",
        "--kind",
        "welfare_centre",
        "--name-ko",
        "x",
        "--name-en",
        "x",
    )
    assert code == 1
    assert "region_code" in output
    code, output = hub(tmp_path, "clients", "add", "TEST-ORG", "--name", "case system")
    assert code == 0, output
    secret = re.search(r"secret:\s+(\S+)", output)
    assert secret
    assert len(secret.group(1)) >= 40
    assert "cases:write" in output
    assert "admin" not in output
    code, output = hub(tmp_path, "clients", "add", "TEST-ORG", "--name", "x", "--scope", "bogus")
    assert code == 1
    assert "unknown scope" in output
    code, output = hub(tmp_path, "clients", "add", "NOBODY", "--name", "x")
    assert code == 1
    assert "No organisation" in output
    jwk = tmp_path / "private.json"
    jwk.write_text(json.dumps({"kty": "oct", "k": "c2VjcmV0"}))
    code, output = hub(tmp_path, "clients", "add", "TEST-ORG", "--name", "x", "--jwks", str(jwk))
    assert code == 1
    assert "private or symmetric" in output
    code, output = hub(tmp_path, "clients", "list", "--organisation", "TEST-ORG")
    assert code == 0
    assert "client_secret_basic" in output
    assert secret.group(1) not in output


def test_catalogue_check_names_the_broken_file(tmp_path: Path) -> None:
    import shutil

    import schemas

    broken = tmp_path / "catalogue"
    shutil.copytree(Path(schemas.__file__).parent / "catalogue", broken)
    (broken / "purposes.yaml").write_text("purposes: [\n", encoding="utf-8")
    code, output = hub(tmp_path, "catalogue", "check", "--directory", str(broken))
    assert code == 1
    assert "purposes.yaml" in output
    code, output = hub(tmp_path, "catalogue", "check")
    assert code == 0
    assert "catalogue valid" in output


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    assert hub(tmp_path, "keys", "init")[0] == 0
    code, output = hub(tmp_path, "serve")
    assert code == 1
    assert "hub db upgrade" in output


def test_openapi_check_detects_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "stale.json"
    stale.write_text("{}")
    code, output = hub(tmp_path, "openapi", "--check", "--output", str(stale))
    assert code == 1
    assert "stale" in output
    code, _ = hub(tmp_path, "openapi", "--output", str(stale))
    assert code == 0
    assert hub(tmp_path, "openapi", "--check", "--output", str(stale))[0] == 0


def test_demo_end_to_end(tmp_path: Path) -> None:
    """`hub demo` as a new user runs it: prepare, print curl lines, serve; the lines work;
    a second run reuses the key set and the credentials."""
    port = free_port()
    env = os.environ | {"HUB_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "300"}
    env.pop("HUB_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--persons", "2000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        while not any(line.startswith("curl -s http") for line in lines):
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        curl = [line.strip() for line in lines if line.startswith(("TOKEN=", "curl "))]
        assert len(curl) == 3
        script = "set -e\n" + "\n".join(curl[:2]) + "\n"
        listed = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True
        )
        assert json.loads(listed.stdout)["count"] >= 40
        health = subprocess.run(
            ["bash", "-c", curl[2]], capture_output=True, text=True, timeout=30, check=True
        )
        assert json.loads(health.stdout) == {"status": "ok"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    var = tmp_path / "var"
    keys_before = (var / "keys.json").read_bytes()
    clients_before = json.loads((var / "demo-clients.json").read_text())
    assert {"MOHW", "KFS", "MOIS", "BAI"} <= {c["organisation"] for c in clients_before}
    rerun = subprocess.run(
        [sys.executable, "-m", "hub.cli", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert (var / "keys.json").read_bytes() == keys_before
    assert json.loads((var / "demo-clients.json").read_text()) == clients_before


def test_bad_setting_is_reported_by_name(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve"], env={"HUB_VAR_DIR": str(tmp_path), "HUB_PUBLIC_URL": "http://example.org"}
    )
    assert result.exit_code == 1
    assert "HUB_PUBLIC_URL" in result.output
    assert "https://" in result.output


def test_serve_refuses_a_broken_catalogue(tmp_path: Path) -> None:
    import shutil

    import schemas

    broken = tmp_path / "catalogue"
    shutil.copytree(Path(schemas.__file__).parent / "catalogue", broken)
    text = (broken / "programmes.yaml").read_text(encoding="utf-8")
    (broken / "programmes.yaml").write_text(text.replace("ministry: KFS", "ministry: NOBODY", 1))
    result = runner.invoke(
        app, ["serve"], env={"HUB_VAR_DIR": str(tmp_path), "HUB_CATALOGUE_DIR": str(broken)}
    )
    assert result.exit_code == 1
    assert "programmes.yaml" in result.output
    assert "NOBODY" in result.output


def test_ingest_exit_codes(tmp_path: Path) -> None:
    """`hub ingest`: 0 when applied, 3 with --strict when rows were rejected, 1 (nothing
    applied) for a structurally broken file, an unknown source or a missing --organisation."""
    from tests.factories import new_rrn
    from tests.ingest.conftest import TEST_ENROLMENTS, csv_file

    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "test-welfare.yaml").write_text(TEST_ENROLMENTS, encoding="utf-8")
    env = {"HUB_VAR_DIR": str(tmp_path / "var"), "HUB_MAPPINGS_DIR": str(maps), "COLUMNS": "200"}
    assert runner.invoke(app, ["keys", "init"], env=env).exit_code == 0
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(app, ["catalogue", "load"], env=env).exit_code == 0

    good = tmp_path / "good.csv"
    good.write_bytes(
        csv_file(
            f"{new_rrn()},가람,11350,,C-1,1001,20240101,,01,",
            f"{new_rrn()},나래,11350,,C-2,9999,20240101,,01,",
        )
    )
    result = runner.invoke(app, ["ingest", "test-welfare", str(good)], env=env)
    assert result.exit_code == 0, result.output
    assert "rejected rows" in result.output
    assert "9999" in result.output
    strict = runner.invoke(app, ["ingest", "test-welfare", str(good), "--strict"], env=env)
    assert strict.exit_code == 3

    broken = tmp_path / "broken.csv"
    broken.write_bytes(
        csv_file(f"{new_rrn()},다온,11350,,C-3,1001,20240101,,01,", header="이름,나이")
    )
    result = runner.invoke(app, ["ingest", "test-welfare", str(broken)], env=env)
    assert result.exit_code == 1
    assert "nothing was applied" in result.output
    assert "missing column" in result.output

    unknown = runner.invoke(app, ["ingest", "no-such-source", str(good)], env=env)
    assert unknown.exit_code == 1
    assert "test-welfare" in unknown.output
    several = runner.invoke(app, ["ingest", "ssis", str(good)], env=env)
    assert several.exit_code == 1
    assert "--organisation" in several.output


def test_rotate_reencrypt_retire_through_the_cli(tmp_path: Path) -> None:
    """The operator's key rotation: stored RRNs stay readable after `rotate`, `retire` is
    refused while rows still use the old key, `reencrypt` moves them, then `retire` works."""
    from tests.factories import new_rrn
    from tests.ingest.conftest import TEST_ENROLMENTS, csv_file

    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "test-welfare.yaml").write_text(TEST_ENROLMENTS, encoding="utf-8")
    env = {"HUB_VAR_DIR": str(tmp_path / "var"), "HUB_MAPPINGS_DIR": str(maps), "COLUMNS": "200"}
    for command in (["keys", "init"], ["db", "upgrade"], ["catalogue", "load"]):
        assert runner.invoke(app, command, env=env).exit_code == 0
    rows = [f"{new_rrn()},순환{i},11350,,K-{i},1001,20240101,,01," for i in range(7)]
    data = tmp_path / "people.csv"
    data.write_bytes(csv_file(*rows))
    assert runner.invoke(app, ["ingest", "test-welfare", str(data)], env=env).exit_code == 0

    keys = json.loads((tmp_path / "var" / "keys.json").read_text())["keys"]
    old = next(k["kid"] for k in keys if k["purpose"] == "rrn-encryption")
    assert runner.invoke(app, ["keys", "rotate", "rrn-encryption"], env=env).exit_code == 0
    refused = runner.invoke(app, ["keys", "retire", old], env=env)
    assert refused.exit_code == 1
    assert "still protects 7 person(s)" in refused.output
    moved = runner.invoke(app, ["keys", "reencrypt", "--batch", "3"], env=env)
    assert moved.exit_code == 0, moved.output
    assert "7 person(s) re-keyed" in moved.output
    again = runner.invoke(app, ["keys", "reencrypt"], env=env)
    assert "0 person(s) re-keyed" in again.output
    retired = runner.invoke(app, ["keys", "retire", old], env=env)
    assert retired.exit_code == 0, retired.output
    # Re-ingesting the same file still finds every person (blind index) and changes nothing.
    result = runner.invoke(app, ["ingest", "test-welfare", str(data)], env=env)
    assert result.exit_code == 0
    # rows, inserted, updated, unchanged, rejected
    assert re.search(r"│\s*7\s*│\s*0\s*│\s*0\s*│\s*7\s*│\s*0\s*│", result.output)
