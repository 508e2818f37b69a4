"""The offline verifier (audit.verify) and `hub audit verify`: an untouched log verifies, and
each kind of tampering — an entry modified, deleted, inserted, two swapped, the log truncated —
makes it fail naming exactly the first bad leaf index, in the database (raw SQL, as an attacker
with database access would) and in an export file (edited as text). Forged checkpoints are
rejected. The pure verifier is also checked against random logs and attacks."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from audit import checkpoint, merkle
from audit.log import as_disclosure
from audit.models import DisclosureEntry
from audit.verify import SignedCheckpoint, external_checkpoint, verify
from hub.cli import app
from hub.database import Database
from hub.vault import KeySet
from tests.audit.test_sequencer import ORIGIN, record, sequence
from tests.conftest import migrated_database

SIZES = (7, 6, 9, 5, 8, 5)  # entries per sequencer run: checkpoints at 7 13 22 27 35 40
UNSIGNED = 3  # then 3 entries sequenced but not yet signed: 43 in all
runner = CliRunner()


async def build_log(url: str, keyset: KeySet) -> None:
    db = Database(url)
    size = 0
    for count in SIZES:  # each run's entries come from two transactions
        await record(db, count // 2, size)
        await record(db, count - count // 2, size + count // 2)
        size += count
        await sequence(db, keyset)
    await record(db, UNSIGNED, size)
    await sequence(db, keyset, force=False, interval=3600)  # sequenced, not due to be signed
    await db.dispose()


def hub(keys_file: Path | str, *args: str, url: str | None = None) -> tuple[int, str]:
    env = {"HUB_KEYS_FILE": str(keys_file), "HUB_PUBLIC_URL": "https://hub.test", "COLUMNS": "200"}
    if url:
        env["HUB_DATABASE_URL"] = url
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def first_bad(output: str) -> int:
    found = re.search(r"first bad entry: index (\d+)\b", output)
    assert found, output
    assert "lsr_" not in output  # reasons name indices, never an entry's content
    assert "req-" not in output
    return int(found.group(1))


@pytest.fixture
def log_url(fresh_database_url: str, keys_file: Path) -> str:
    asyncio.run(build_log(fresh_database_url, KeySet.load(keys_file)))
    return fresh_database_url


def tamper(url: str, attack: Callable[[AsyncSession], Awaitable[None]]) -> None:
    async def apply() -> None:
        db = Database(url)
        try:
            async with db.transaction() as session:
                await attack(session)
        finally:
            await db.dispose()

    asyncio.run(apply())


# -- attacks on the database, with raw SQL ---------------------------------------------------

Attack = Callable[[AsyncSession], Awaitable[None]]


async def entry_at(session: AsyncSession, index: int) -> int:
    sql = "SELECT entry_id FROM audit_leaves WHERE leaf_index = :i"
    return int(await session.scalar(text(sql), {"i": index}))


def modify(column: str, value: str | dict[str, str], index: int = 17) -> Attack:
    async def attack(session: AsyncSession) -> None:
        literal = value if isinstance(value, str) else value[session.bind.dialect.name]
        sql = f"UPDATE disclosure_entries SET {column} = {literal} WHERE id = :id"  # noqa: S608
        await session.execute(text(sql), {"id": await entry_at(session, index)})

    return attack


async def modify_and_rewrite_its_leaf_hash(session: AsyncSession) -> None:
    await modify("reason", "'nothing to see'")(session)
    row = await session.get(DisclosureEntry, await entry_at(session, 17))
    assert row is not None
    digest = merkle.leaf_hash(as_disclosure(row).canonical())
    sql = "UPDATE audit_nodes SET hash = :h WHERE level = 0 AND position = 17"
    await session.execute(text(sql), {"h": digest})


async def shift(session: AsyncSession, start: int, by: int) -> None:
    """Renumber the leaves from `start` on by `by`, through negative indices (unique key)."""
    sql = "UPDATE audit_leaves SET leaf_index = -leaf_index - 1 WHERE leaf_index >= :s"
    await session.execute(text(sql), {"s": start})
    sql = "UPDATE audit_leaves SET leaf_index = -leaf_index - 1 + :by WHERE leaf_index < 0"
    await session.execute(text(sql), {"by": by})


def delete(*, renumber: bool) -> Attack:
    async def attack(session: AsyncSession) -> None:
        entry = await entry_at(session, 17)
        await session.execute(text("DELETE FROM audit_leaves WHERE leaf_index = 17"))
        await session.execute(text("DELETE FROM disclosure_entries WHERE id = :id"), {"id": entry})
        if renumber:
            await shift(session, 18, -1)

    return attack


async def insert(session: AsyncSession) -> None:
    columns = ", ".join(c.key for c in DisclosureEntry.__table__.columns if c.key != "id")
    copied = columns.replace("reason", "'an entry that was never disclosed'")
    sql = f"INSERT INTO disclosure_entries ({columns}) SELECT {copied} FROM disclosure_entries"  # noqa: S608 (names from the table's metadata)
    await session.execute(text(sql + " WHERE id = :id"), {"id": await entry_at(session, 17)})
    new = await session.scalar(text("SELECT max(id) FROM disclosure_entries"))
    await shift(session, 17, 1)
    sql = "INSERT INTO audit_leaves (leaf_index, entry_id, sequenced_at) SELECT 17, :new, "
    await session.execute(
        text(sql + "sequenced_at FROM audit_leaves WHERE leaf_index = 18"), {"new": new}
    )


async def swap(session: AsyncSession) -> None:
    for old, new in ((17, -1), (23, 17), (-1, 23)):
        sql = "UPDATE audit_leaves SET leaf_index = :new WHERE leaf_index = :old"
        await session.execute(text(sql), {"old": old, "new": new})


def truncate(keep: int, *, checkpoints_too: bool = False) -> Attack:
    async def attack(session: AsyncSession) -> None:
        sql = "SELECT entry_id FROM audit_leaves WHERE leaf_index >= :k"
        ids = list(await session.scalars(text(sql), {"k": keep}))
        await session.execute(text("DELETE FROM audit_leaves WHERE leaf_index >= :k"), {"k": keep})
        for entry in ids:
            sql = "DELETE FROM disclosure_entries WHERE id = :id"
            await session.execute(text(sql), {"id": entry})
        if checkpoints_too:
            sql = "DELETE FROM audit_checkpoints WHERE size > :k"
            await session.execute(text(sql), {"k": keep})

    return attack


LATER = {"sqlite": "'2026-03-02 10:00:00.000000'", "postgresql": "'2026-03-02 10:00:00+00'"}
DATABASE_ATTACKS: dict[str, tuple[Attack, int]] = {
    "modify reason": (modify("reason", "'nothing to see'"), 17),
    "modify organisation": (modify("organisation", "'MOIS'"), 17),
    "modify recorded_at": (modify("recorded_at", LATER), 17),
    "modify data_categories": (modify("data_categories", """'["income.band"]'"""), 17),
    "modify decision (now invalid)": (modify("decision", "'maybe'"), 17),
    "modify an unsigned entry": (modify("reason", "'nothing to see'", index=41), 41),
    "modify and rewrite its stored leaf hash": (modify_and_rewrite_its_leaf_hash, 13),
    "delete": (delete(renumber=False), 17),
    "delete and renumber": (delete(renumber=True), 17),
    "insert and renumber": (insert, 17),
    "swap": (swap, 17),
    "truncate": (truncate(38), 38),
}


def test_an_untouched_log_verifies(log_url: str, keys_file: Path) -> None:
    code, output = hub(keys_file, "audit", "verify", url=log_url)
    assert code == 0, output
    assert "43 entries, 6 checkpoints, latest signed size 40" in output
    assert "3 entries after the latest checkpoint" in output


@pytest.mark.parametrize(("attack", "expected"), DATABASE_ATTACKS.values(), ids=DATABASE_ATTACKS)
def test_tampering_with_the_database_is_named(
    log_url: str, keys_file: Path, attack: Attack, expected: int
) -> None:
    tamper(log_url, attack)
    code, output = hub(keys_file, "audit", "verify", url=log_url)
    assert code == 1, output
    assert first_bad(output) == expected


def test_a_checkpoint_kept_outside_the_hub_catches_a_truncation_hidden_in_the_database(
    log_url: str, keys_file: Path, tmp_path: Path
) -> None:
    async def latest(session: AsyncSession) -> None:
        sql = "SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1"
        (tmp_path / "checkpoint.txt").write_text(await session.scalar(text(sql)), "utf-8")

    tamper(log_url, latest)
    tamper(log_url, truncate(38, checkpoints_too=True))
    code, output = hub(keys_file, "audit", "verify", url=log_url)
    assert code == 0, output  # the database alone cannot tell
    saved = str(tmp_path / "checkpoint.txt")
    code, output = hub(keys_file, "audit", "verify", "--checkpoint", saved, url=log_url)
    assert code == 1
    assert first_bad(output) == 38


def forged_note(size: int, root: bytes, key: Ed25519PrivateKey | None = None) -> str:
    body = checkpoint.format_body(checkpoint.Checkpoint(ORIGIN, size, root))
    return checkpoint.sign(body, ORIGIN, key or Ed25519PrivateKey.generate())


@pytest.mark.parametrize("forgery", ["other key", "altered signature", "moved"])
def test_a_forged_checkpoint_is_rejected(log_url: str, keys_file: Path, forgery: str) -> None:
    async def forge(session: AsyncSession) -> None:
        sql = "SELECT note, root FROM audit_checkpoints WHERE size = 22"
        note, root = (await session.execute(text(sql))).one()
        if forgery == "other key":
            note = forged_note(22, root)
        elif forgery == "altered signature":
            at = note.rindex(" ") + 5
            note = note[:at] + ("A" if note[at] != "A" else "B") + note[at + 1 :]
        sql = "UPDATE audit_checkpoints SET note = :n, size = :s WHERE size = 22"
        await session.execute(text(sql), {"n": note, "s": 23 if forgery == "moved" else 22})

    tamper(log_url, forge)
    code, output = hub(keys_file, "audit", "verify", url=log_url)
    assert code == 1, output
    assert f"bad checkpoint: size {23 if forgery == 'moved' else 22}" in output


# -- attacks on an export file ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine_export(
    database_url: str, keys_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    folder = tmp_path_factory.mktemp("export")
    with migrated_database(backend, folder) as url:
        asyncio.run(build_log(url, KeySet.load(keys_file)))
        code, output = hub(keys_file, "audit", "export", str(folder / "log.jsonl"), url=url)
        assert code == 0, output
    return folder / "log.jsonl"


Entries = list[dict]


def consistent(line: dict) -> dict:
    """The line with its leaf_hash recomputed, as an attacker who covers tracks would."""
    digest = merkle.leaf_hash(rfc8785.dumps(line["entry"]))
    return line | {"leaf_hash": base64.b64encode(digest).decode()}


def altered(line: dict) -> dict:
    return line | {"entry": line["entry"] | {"reason": "an entry that was never disclosed"}}


def renumbered(lines: Entries, by: int) -> Entries:
    return [line | {"index": line["index"] + by} for line in lines]


def swapped(e: Entries, *, keep_indices: bool) -> Entries:
    a, b = (e[23] | {"index": 17}, e[17] | {"index": 23}) if keep_indices else (e[23], e[17])
    return [*e[:17], a, *e[18:23], b, *e[24:]]


EXPORT_ATTACKS: dict[str, tuple[Callable[[Entries], Entries], int]] = {
    "modify": (lambda e: [*e[:17], altered(e[17]), *e[18:]], 17),
    "modify and rewrite its leaf hash": (
        lambda e: [*e[:17], consistent(altered(e[17])), *e[18:]],
        13,
    ),
    "delete": (lambda e: e[:17] + e[18:], 17),
    "insert a duplicate index": (lambda e: [*e[:17], consistent(altered(e[17])), *e[17:]], 17),
    "insert and renumber, hashes rewritten": (
        lambda e: [*e[:17], consistent(altered(e[17])), *renumbered(e[17:], 1)],
        13,
    ),
    "swap lines": (lambda e: swapped(e, keep_indices=False), 17),
    "swap entries, indices kept": (lambda e: swapped(e, keep_indices=True), 13),
    "truncate": (lambda e: e[:38], 38),
}


def edit(
    source: Path,
    target: Path,
    change: Callable[[Entries], Entries] = lambda e: e,
    change_checkpoints: Callable[[list[str]], list[str]] = lambda c: c,
) -> Path:
    header, *rest = source.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in rest]
    entries = change([r for r in records if "checkpoint" not in r])
    cps = change_checkpoints([json.dumps(r) for r in records if "checkpoint" in r])
    lines = [header, *(json.dumps(e, ensure_ascii=False) for e in entries), *cps]
    target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return target


def test_an_untouched_export_verifies(pristine_export: Path, keys_file: Path) -> None:
    code, output = hub(keys_file, "audit", "verify", "--from-export", str(pristine_export))
    assert code == 0, output
    assert "43 entries, 6 checkpoints, latest signed size 40" in output


@pytest.mark.parametrize(("change", "expected"), EXPORT_ATTACKS.values(), ids=EXPORT_ATTACKS)
def test_tampering_with_an_export_is_named(
    pristine_export: Path,
    keys_file: Path,
    tmp_path: Path,
    change: Callable[[Entries], Entries],
    expected: int,
) -> None:
    edited = edit(pristine_export, tmp_path / "edited.jsonl", change)
    code, output = hub(keys_file, "audit", "verify", "--from-export", str(edited))
    assert code == 1, output
    assert first_bad(output) == expected


def test_an_export_with_a_forged_checkpoint_is_rejected(
    pristine_export: Path, keys_file: Path, tmp_path: Path
) -> None:
    def forge(cps: list[str]) -> list[str]:
        note = json.loads(cps[2])["checkpoint"]
        root = checkpoint.parse_body(note.partition("\n\n")[0] + "\n").root
        return [*cps[:2], json.dumps({"checkpoint": forged_note(22, root), "size": 22}), *cps[3:]]

    edited = edit(pristine_export, tmp_path / "edited.jsonl", change_checkpoints=forge)
    code, output = hub(keys_file, "audit", "verify", "--from-export", str(edited))
    assert code == 1
    assert "bad checkpoint: size 22" in output


def test_an_auditor_verifies_with_the_published_verifier_key_alone(
    pristine_export: Path, tmp_path: Path
) -> None:
    (key,) = json.loads(pristine_export.read_text(encoding="utf-8").splitlines()[0])[
        "verifier_keys"
    ]
    no_key_set = tmp_path / "absent.json"
    args = ("audit", "verify", "--from-export", str(pristine_export))
    code, output = hub(no_key_set, *args, "--verifier-key", key)
    assert code == 0, output
    other = checkpoint.verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    code, output = hub(no_key_set, *args, "--verifier-key", other)
    assert code == 1
    assert "bad checkpoint: size 7" in output


# -- the pure verifier -----------------------------------------------------------------------

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYS = {"log-sig": KEY.public_key()}


def pure_log(n: int, sizes: list[int]) -> tuple[list[bytes], list[SignedCheckpoint]]:
    entries = [f'{{"n":{i}}}'.encode() for i in range(n)]
    hashes = [merkle.leaf_hash(e) for e in entries]
    notes = [SignedCheckpoint(forged_note(s, merkle.root(hashes[:s]), KEY), s) for s in sizes]
    return entries, notes


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 70),
    data=st.data(),
    kind=st.sampled_from(["modify", "delete", "swap", "truncate"]),
    stored=st.booleans(),
)
def test_the_first_bad_index_follows_the_naming_rule(
    n: int, data: st.DataObject, kind: str, stored: bool
) -> None:
    sizes = sorted(data.draw(st.sets(st.integers(0, n), max_size=6)))
    entries, notes = pure_log(n, sizes)
    leaves = [(i, e, merkle.leaf_hash(e) if stored else None) for i, e in enumerate(entries)]
    assert verify(leaves, notes, ORIGIN, KEYS).ok
    j = data.draw(st.integers(0, n - 1))
    if kind == "modify":
        leaves[j] = (j, b"{}", leaves[j][2])
    elif kind == "delete":
        del leaves[j]
    elif kind == "swap" and j + 1 < n:
        leaves[j] = (j, entries[j + 1], leaves[j][2])  # stored hashes stay in place
        leaves[j + 1] = (j + 1, entries[j], leaves[j + 1][2])
    elif kind == "truncate":
        del leaves[j:]
    report = verify(leaves, notes, ORIGIN, KEYS)
    covering = [s for s in sizes if s > j]
    if kind == "truncate" or (kind == "delete" and j == n - 1):
        expected = j if covering else None
    elif kind == "swap" and j + 1 >= n:
        expected = None
    elif stored or kind == "delete":
        expected = j
    else:
        expected = max([s for s in sizes if s <= j], default=0) if covering else None
    assert report.first_bad_index == expected, report
    assert report.ok is (expected is None)


def test_checkpoints_from_rotated_keys_and_repeated_sizes_verify() -> None:
    entries, notes = pure_log(9, [0, 4, 9])
    hashes = [merkle.leaf_hash(e) for e in entries]
    newer = Ed25519PrivateKey.generate()
    notes += [SignedCheckpoint(forged_note(9, merkle.root(hashes), newer), 9)]
    leaves = [(i, e, None) for i, e in enumerate(entries)]
    report = verify(leaves, notes, ORIGIN, KEYS | {"newer": newer.public_key()})
    assert (report.ok, report.checkpoints, report.latest_size, report.unsigned) == (
        True,
        4,
        9,
        0,
    )
    refused = verify(leaves, notes, ORIGIN, KEYS)
    assert (refused.ok, refused.bad_checkpoint, refused.first_bad_index) == (False, 9, None)
    elsewhere = verify(leaves, notes[:3], "another.example/log", KEYS)
    assert elsewhere.bad_checkpoint == 0


def test_an_external_checkpoint_reads_its_size_from_the_note() -> None:
    _, notes = pure_log(5, [5])
    assert external_checkpoint(notes[0].note) == notes[0]
    with pytest.raises(checkpoint.CheckpointError):
        external_checkpoint("not a checkpoint\n")


def test_the_verifier_is_pure() -> None:
    code = (
        "import sys, audit.verify; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'hub', 'httpx', 'fastapi', 'starlette')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
