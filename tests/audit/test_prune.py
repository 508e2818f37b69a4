"""Retention of the disclosure log by checkpointed range (audit.prune, `hub audit prune`).

The oldest entries go once an export holding them verifies; the tree's hashes and checkpoints
stay, so the log still verifies (from the checkpoint it was pruned at), proofs are still
answered, the sequencer carries on, and anything else is refused with nothing removed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audit import merkle
from audit.models import AuditLeaf, AuditNode, AuditPruning, DisclosureEntry
from audit.verify import Pruned, verify
from hub.alerts.models import AlertDelivery, AlertSubscription
from hub.database import Database
from hub.events.models import Event
from hub.kit.clock import utcnow
from hub.main import create_app
from hub.records.repository import NewPerson, add_person
from hub.vault import KeySet
from schemas.identifiers import parse_rrn
from tests.audit.test_sequencer import ORIGIN, record, sequence
from tests.audit.test_verify import KEYS, build_log, edit, hub, pure_log
from tests.conftest import make_settings
from tests.factories import asgi_client, bearer, new_client, new_rrn

# build_log: 43 entries, checkpoints at sizes 7 13 22 27 35 40.


def prefix(entries: list[bytes], size: int) -> Pruned:
    hashes = [merkle.leaf_hash(e) for e in entries[:size]]
    return Pruned(size, {r: merkle.root(hashes[r[0] : r[1]]) for r in merkle.root_subtrees(size)})


# -- the verifier, pure --------------------------------------------------------------------


def test_a_pruned_log_verifies_from_the_checkpoint_it_was_pruned_at() -> None:
    entries, notes = pure_log(30, [5, 13, 21, 30])
    rest = [(i, entries[i], None) for i in range(13, 30)]
    report = verify(rest, notes, ORIGIN, KEYS, pruned=prefix(entries, 13))
    assert (report.ok, report.pruned, report.entries, report.checkpoints) == (True, 13, 17, 3)

    altered = [*rest[:4], (17, b'{"n":"changed"}', None), *rest[5:]]
    assert verify(altered, notes, ORIGIN, KEYS, pruned=prefix(entries, 13)).first_bad_index == 13


def test_a_pruned_prefix_must_compose_a_signed_root() -> None:
    entries, notes = pure_log(30, [5, 13, 21, 30])
    rest = [(i, entries[i], None) for i in range(13, 30)]
    seed = prefix(entries, 13)
    forged = Pruned(
        13, {r: (b"\x00" * 32 if r == (12, 13) else h) for r, h in seed.subtrees.items()}
    )
    refused = verify(rest, notes, ORIGIN, KEYS, pruned=forged)
    assert (refused.ok, refused.first_bad_index) == (False, 13)
    assert "do not compose" in (refused.reason or "")

    unsigned = verify(
        [(i, entries[i], None) for i in range(12, 30)],
        notes,
        ORIGIN,
        KEYS,
        pruned=prefix(entries, 12),
    )
    assert (unsigned.ok, unsigned.first_bad_index) == (False, 12)
    assert "no checkpoint signs it" in (unsigned.reason or "")


# -- `hub audit prune` on both databases ---------------------------------------------------


@pytest.fixture
def pruned_log(fresh_database_url: str, keys_file: Path, tmp_path: Path) -> tuple[str, Path]:
    """A log pruned before index 22, and the archive it was pruned with."""
    asyncio.run(build_log(fresh_database_url, KeySet.load(keys_file)))
    archive = tmp_path / "archive.jsonl"
    code, output = hub(keys_file, "audit", "export", str(archive), url=fresh_database_url)
    assert code == 0, output
    code, output = hub(
        keys_file, "audit", "prune", "--through", "22", "--archive", str(archive),
        url=fresh_database_url,
    )  # fmt: skip
    assert code == 0, output
    assert "pruned 22 entries (indices 0 to 21)" in output
    return fresh_database_url, archive


async def counts(url: str) -> tuple[int, int, int, int]:
    """Entries, leaves, the smallest leaf index, and leaf hashes stored."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            entries = await session.scalar(select(func.count()).select_from(DisclosureEntry))
            leaves = await session.scalar(select(func.count()).select_from(AuditLeaf))
            first = await session.scalar(select(func.min(AuditLeaf.leaf_index)))
            hashes = await session.scalar(
                select(func.count()).select_from(AuditNode).where(AuditNode.level == 0)
            )
            return int(entries or 0), int(leaves or 0), int(first or 0), int(hashes or 0)
    finally:
        await db.dispose()


def test_pruning_removes_the_range_and_the_log_still_verifies(
    pruned_log: tuple[str, Path], keys_file: Path, tmp_path: Path
) -> None:
    url, archive = pruned_log
    assert asyncio.run(counts(url)) == (21, 21, 22, 43)

    code, output = hub(keys_file, "audit", "verify", url=url)
    assert code == 0, output
    assert "21 entries" in output
    assert "pruned before index 22" in output

    # An export of the pruned log carries the prefix's hashes and verifies on its own.
    later = tmp_path / "later.jsonl"
    assert hub(keys_file, "audit", "export", str(later), url=url)[0] == 0
    header = json.loads(later.read_text(encoding="utf-8").splitlines()[0])
    assert header["pruned"]["size"] == 22
    code, output = hub(keys_file, "audit", "verify", "--from-export", str(later))
    assert code == 0, output

    # A pruned entry tampered with in the archive is still caught by the archive's checks.
    tampered = edit(
        archive,
        tmp_path / "tampered.jsonl",
        lambda e: [*e[:3], e[3] | {"entry": e[3]["entry"] | {"reason": "x"}}, *e[4:]],
    )
    assert hub(keys_file, "audit", "verify", "--from-export", str(tampered))[0] == 1


def test_the_sequencer_carries_on_after_pruning(
    pruned_log: tuple[str, Path], keys_file: Path
) -> None:
    url, _ = pruned_log

    async def more() -> None:
        db = Database(url)
        try:
            await record(db, 5, 100)
            await sequence(db, KeySet.load(keys_file))
        finally:
            await db.dispose()

    asyncio.run(more())
    assert asyncio.run(counts(url)) == (26, 26, 22, 48)
    code, output = hub(keys_file, "audit", "verify", url=url)
    assert code == 0, output
    assert "latest signed size 48" in output


def test_what_may_not_be_pruned_is_refused_with_nothing_removed(
    pruned_log: tuple[str, Path], keys_file: Path, tmp_path: Path
) -> None:
    url, archive = pruned_log

    def prune(size: int, file: Path) -> str:
        code, output = hub(
            keys_file, "audit", "prune", "--through", str(size), "--archive", str(file), url=url
        )
        assert code == 1, output
        return output

    assert "already pruned before index 22" in prune(13, archive)
    assert "no checkpoint signs size 30" in prune(30, archive)
    broken = edit(archive, tmp_path / "broken.jsonl", lambda e: e[:20] + e[21:])
    assert "does not verify" in prune(27, broken)
    # An archive must hold a checkpoint at the size pruned to (this one lost those after 27).
    short = edit(archive, tmp_path / "short.jsonl", lambda e: e, lambda c: c[:4])
    assert "holds no checkpoint at size 40" in prune(40, short)
    assert asyncio.run(counts(url)) == (21, 21, 22, 43)


def test_a_pending_alert_delivery_blocks_pruning_its_entry(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    asyncio.run(build_log(fresh_database_url, KeySet.load(keys_file)))
    archive = tmp_path / "archive.jsonl"
    assert hub(keys_file, "audit", "export", str(archive), url=fresh_database_url)[0] == 0

    async def pending_delivery_on_entry_5() -> None:
        db = Database(fresh_database_url)
        keyset = KeySet.load(keys_file)
        now = utcnow()
        try:
            client = await new_client(db)
            async with db.transaction() as session:
                person = await add_person(session, keyset, NewPerson(parse_rrn(new_rrn()), "김해"))
                entry_id = await session.scalar(
                    select(AuditLeaf.entry_id).where(AuditLeaf.leaf_index == 5)
                )
                session.add_all(
                    [
                        AlertSubscription(
                            id="sub_prune",
                            organisation=client.organisation,
                            client_id=client.client_id,
                            event_types=[],
                            mode="webhook",
                            url="https://x.example",
                            secret_kid="k",
                            secret_sealed=b"x",
                            status="active",
                            last_seq=1,
                            created_at=now,
                            changed_at=now,
                        ),
                        event := Event(
                            id=uuid.uuid4(),
                            type="person.died",
                            person_id=person.id,
                            occurred_at=now,
                            source_org="MOIS",
                            source_event_id="e-prune",
                            details={},
                            recorded_at=now,
                        ),
                    ]
                )
                await session.flush()
                session.add(
                    AlertDelivery(
                        id=uuid.uuid4(),
                        subscription_id="sub_prune",
                        event_id=event.id,
                        seq=1,
                        type="person.died",
                        occurred_at=now,
                        source_org="MOIS",
                        data={},
                        disclosure_id=entry_id,
                        status="pending",
                        attempts=0,
                        created_at=now,
                    )
                )
        finally:
            await db.dispose()

    asyncio.run(pending_delivery_on_entry_5())
    code, output = hub(
        keys_file, "audit", "prune", "--through", "13", "--archive", str(archive),
        url=fresh_database_url,
    )  # fmt: skip
    assert code == 1, output
    assert "still pending" in output
    assert asyncio.run(counts(fresh_database_url))[0] == 43


async def test_a_pruned_entry_is_gone_and_its_proofs_remain(
    pruned_log: tuple[str, Path], keys_file: Path
) -> None:
    url, _ = pruned_log
    app = create_app(make_settings(url, keys_file))
    async with app.router.lifespan_context(app), asgi_client(app) as api:
        db = app.state.db
        auditor = await bearer(api, await new_client(db, kind="auditor", scopes="audit:read"))
        gone = await api.get("/v1/audit/entries/5", headers=auditor)
        assert gone.status_code == 410, gone.text
        assert gone.headers["content-type"] == "application/problem+json"
        kept = await api.get("/v1/audit/entries/30", headers=auditor)
        assert kept.status_code == 200, kept.text
        proof = await api.get(
            "/v1/audit/proof/inclusion", params={"index": 5, "size": 40}, headers=auditor
        )
        assert proof.status_code == 200, proof.text
        consistency = await api.get(
            "/v1/audit/proof/consistency", params={"old": 7, "new": 40}, headers=auditor
        )
        assert consistency.status_code == 200, consistency.text
    async with Database(url).transaction() as session:
        assert (await session.scalar(select(AuditPruning.size))) == 22


def test_a_log_pruned_to_its_last_entry_goes_on_from_there(
    pruned_log: tuple[str, Path], keys_file: Path, tmp_path: Path
) -> None:
    """With every entry pruned no leaf row is left: the tree's size comes from its hashes."""
    url, _ = pruned_log
    keyset = KeySet.load(keys_file)

    async def run(count: int) -> None:
        db = Database(url)
        try:
            if count:
                await record(db, count, 200)
            await sequence(db, keyset)  # signs the size reached
        finally:
            await db.dispose()

    asyncio.run(run(0))
    archive = tmp_path / "all.jsonl"
    assert hub(keys_file, "audit", "export", str(archive), url=url)[0] == 0
    code, output = hub(
        keys_file, "audit", "prune", "--through", "43", "--archive", str(archive), url=url
    )
    assert code == 0, output
    assert asyncio.run(counts(url))[:2] == (0, 0)

    asyncio.run(run(2))
    assert asyncio.run(counts(url)) == (2, 2, 43, 45)
    code, output = hub(keys_file, "audit", "verify", url=url)
    assert code == 0, output
    assert "latest signed size 45" in output
