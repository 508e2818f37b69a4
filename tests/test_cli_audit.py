"""`hub audit` as an operator and an auditor use it: help texts, sequencing once or in a loop,
export then verify the export (round trip), refusing to overwrite an export, clear errors."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rfc8785
from typer.testing import CliRunner

from audit import merkle
from audit.export import FORMAT
from hub.cli import app
from hub.database import Database
from hub.vault import KeySet
from tests.audit.test_sequencer import disclosure, record, sequence

runner = CliRunner()


def hub(url: str, keys_file: Path, *args: str) -> tuple[int, str]:
    env = {
        "HUB_DATABASE_URL": url,
        "HUB_KEYS_FILE": str(keys_file),
        "HUB_PUBLIC_URL": "https://hub.test",
        "COLUMNS": "200",
    }
    result = runner.invoke(app, ["audit", *args], env=env)
    return result.exit_code, result.output


async def _entries(url: str, keyset: KeySet, counts: tuple[int, ...], unsigned: int = 0) -> None:
    db = Database(url)
    size = 0
    for count in counts:
        await record(db, count, size)
        size += count
        await sequence(db, keyset)
    await record(db, unsigned, size)
    await db.dispose()


def entries(url: str, keys_file: Path, *counts: int, unsigned: int = 0) -> None:
    """Record and sequence entries, a checkpoint after each count; `unsigned` left pending."""
    asyncio.run(_entries(url, KeySet.load(keys_file), counts, unsigned))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ([], ["sequence", "verify", "export"]),
        (["sequence"], ["--once", "--loop", "--interval", "HUB_SEQUENCER"]),
        (["verify"], ["--from-export", "--verifier-key", "--checkpoint", "first bad entry"]),
        (["export"], ["FILE", "--force", "JSON Lines", "confidential"]),
    ],
)
def test_help_texts(tmp_path: Path, command: list[str], expected: list[str]) -> None:
    result = runner.invoke(app, ["audit", *command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.output


def test_sequence_once_says_what_it_did(fresh_database_url: str, keys_file: Path) -> None:
    entries(fresh_database_url, keys_file, unsigned=3)
    code, output = hub(fresh_database_url, keys_file, "sequence", "--once")
    assert code == 0, output
    assert "sequenced 3 entries; the log has 3; signed a checkpoint at size 3" in output
    code, output = hub(fresh_database_url, keys_file, "sequence")
    assert (code, output.strip()) == (0, "nothing to do")


def test_export_then_verify_the_export(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    entries(fresh_database_url, keys_file, 4, 3, unsigned=2)
    target = tmp_path / "log.jsonl"
    code, output = hub(fresh_database_url, keys_file, "export", str(target))
    assert code == 0, output
    assert "exported 7 entries and 2 checkpoints" in output
    header, *lines = (json.loads(line) for line in target.read_text("utf-8").splitlines())
    assert header["format"] == FORMAT
    assert header["origin"] == "hub.test/disclosure-log"
    assert header["verifier_keys"][0].startswith("hub.test/disclosure-log+")
    logged, checkpoints = lines[:7], lines[7:]
    assert [line["index"] for line in logged] == list(range(7))
    for k, line in enumerate(logged):  # the entry object is exactly what the leaf commits to
        assert rfc8785.dumps(line["entry"]) == disclosure(k).canonical()
        digest = merkle.leaf_hash(rfc8785.dumps(line["entry"]))
        assert base64.b64decode(line["leaf_hash"]) == digest
    assert [c["size"] for c in checkpoints] == [4, 7]
    assert all(c["checkpoint"].startswith("hub.test/disclosure-log\n") for c in checkpoints)

    code, output = hub(fresh_database_url, keys_file, "verify", "--from-export", str(target))
    assert code == 0, output
    assert "7 entries, 2 checkpoints, latest signed size 7" in output
    code, output = hub(fresh_database_url, keys_file, "verify")
    assert code == 0, output
    assert "7 entries, 2 checkpoints" in output  # the 2 pending ones are not sequenced yet


def test_export_refuses_to_overwrite_unless_forced(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    entries(fresh_database_url, keys_file, 2)
    target = tmp_path / "log.jsonl"
    target.write_text("keep me\n", encoding="utf-8")
    code, output = hub(fresh_database_url, keys_file, "export", str(target))
    assert code == 1
    assert "exists already" in output
    assert "--force" in output
    assert target.read_text(encoding="utf-8") == "keep me\n"
    code, output = hub(fresh_database_url, keys_file, "export", str(target), "--force")
    assert code == 0, output
    assert json.loads(target.read_text("utf-8").splitlines()[0])["format"] == FORMAT
    assert not list(tmp_path.glob("*.partial"))


def test_an_empty_log_verifies(fresh_database_url: str, keys_file: Path) -> None:
    code, output = hub(fresh_database_url, keys_file, "verify")
    assert code == 0, output
    assert "0 entries, 0 checkpoints, latest signed size 0" in output


def test_clear_errors(fresh_database_url: str, keys_file: Path, tmp_path: Path) -> None:
    absent = tmp_path / "absent.json"
    code, output = hub(fresh_database_url, absent, "verify")
    assert code == 1
    assert "no key set" in output
    not_an_export = tmp_path / "notes.txt"
    not_an_export.write_text("hello\n", encoding="utf-8")
    code, output = hub(fresh_database_url, keys_file, "verify", "--from-export", str(not_an_export))
    assert code == 1
    assert "not a valid export: line 1 is not valid JSON" in output
    code, output = hub(fresh_database_url, keys_file, "verify", "--verifier-key", "nonsense")
    assert code == 1
    assert "--verifier-key" in output
    unmigrated = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    for command in (["verify"], ["export", str(tmp_path / "log.jsonl")], ["sequence"]):
        code, output = hub(unmigrated, keys_file, *command)
        assert code == 1
        assert "hub db upgrade" in output
    assert not list(tmp_path.glob("log.jsonl*"))


def test_sequence_loop_runs_until_interrupted(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    env = os.environ | {
        "HUB_DATABASE_URL": fresh_database_url,
        "HUB_KEYS_FILE": str(keys_file),
        "HUB_PUBLIC_URL": "https://hub.test",
        "HUB_CHECKPOINT_INTERVAL": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "hub.cli", "audit", "sequence", "--loop", "--interval", "0.1"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        entries(fresh_database_url, keys_file, unsigned=3)
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        while not any("signed a checkpoint at size 3" in line for line in lines):
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
    finally:
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(lines) + remaining
    assert "Traceback" not in remaining
    code, output = hub(fresh_database_url, keys_file, "verify")
    assert code == 0, output
    assert "3 entries, 1 checkpoint," in output
