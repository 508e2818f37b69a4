"""The sequencer on real databases: consecutive indices across transactions, stored roots and
proofs that verify against signed checkpoints and equal the tree recomputed from the entries,
checkpoints only when due, one sequencer at a time on PostgreSQL, late commits sequenced by
the next run, and the in-process sequencer under the app's lifespan.

The helpers here (`disclosure`, `record`, `sequence`) also build the logs of test_verify.py and
tests/test_cli_audit.py."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymerkle import InmemoryTree
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import checkpoint, log, merkle, sequencer, tree
from audit.models import AuditCheckpoint, AuditLeaf, AuditNode, AuditPending, DisclosureEntry
from hub.database import Database
from hub.main import create_app
from hub.vault import KeySet
from schemas.disclosure import Decision, Disclosure
from tests.conftest import make_settings

ORIGIN = "hub.test/disclosure-log"
"""The log origin of make_settings' public URL, https://hub.test."""
BASE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
RULES = hashlib.sha256(b"rules").hexdigest()


def disclosure(i: int) -> Disclosure:
    """A varied, valid entry (pseudonymous; no personal data)."""
    subject = base64.b32encode(hashlib.sha256(f"person-{i % 7}".encode()).digest())[:32]
    permit = i % 5 != 0
    return Disclosure(
        recorded_at=BASE + dt.timedelta(seconds=i, microseconds=i * 1013),
        action=("eligibility.verify", "eligibility.benefits", "audit.disclosures.list")[i % 3],
        organisation=("MOHW", "MOEL", "WC-ARA")[i % 3],
        client_id=f"client-{i % 4}",
        actor=f"staff-{i}" if i % 2 else None,
        subject_ref="lsr_" + subject.decode().lower() if i % 3 != 2 else None,
        purpose="welfare.eligibility",
        basis="statute:ssa-art-23" if permit else None,
        data_categories=("income.band", "household.size") if permit else (),
        fields=("income.band",) if permit else (),
        decision=Decision.PERMIT if permit else Decision.DENY,
        reason="the purpose justifies the attributes" if permit else "no legal basis found",
        request_id=f"req-{i:04d}",
        rule_set_hash=RULES,
    )


async def record(db: Database, count: int, start: int = 0) -> list[int]:
    """Record `count` entries in one committed transaction; their entry ids."""
    async with db.transaction() as session:
        rows = [await log.record(session, disclosure(start + k)) for k in range(count)]
    return [row.id for row in rows]


async def sequence(
    db: Database,
    keyset: KeySet,
    *,
    now: dt.datetime | None = None,
    force: bool = True,
    interval: float = 2.0,
) -> sequencer.Run:
    """One sequencer run in its own transaction (checkpoint forced unless `force=False`)."""
    async with db.transaction() as session:
        return await sequencer.run(
            session,
            keyset,
            origin=ORIGIN,
            now=now or dt.datetime.now(dt.UTC),
            interval=interval,
            force_checkpoint=force,
        )


async def leaf_rows(session: AsyncSession) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(AuditLeaf.leaf_index, AuditLeaf.entry_id).order_by(AuditLeaf.leaf_index)
    )
    return [(int(i), int(e)) for i, e in rows.all()]


async def canonical_entries(session: AsyncSession) -> list[bytes]:
    """The entries' canonical bytes (RFC 8785), in leaf order."""
    rows = await session.scalars(
        select(DisclosureEntry)
        .join(AuditLeaf, AuditLeaf.entry_id == DisclosureEntry.id)
        .order_by(AuditLeaf.leaf_index)
    )
    return [log.as_disclosure(row).canonical() for row in rows]


async def recomputed_leaf_hashes(session: AsyncSession) -> list[bytes]:
    """Leaf hashes recomputed from the entries themselves, in leaf order."""
    return [merkle.leaf_hash(entry) for entry in await canonical_entries(session)]


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    database = Database(fresh_database_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def keyset(keys_file: Path) -> KeySet:
    return KeySet.load(keys_file)


def is_postgres(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


async def test_entries_from_several_transactions_get_consecutive_indices(
    db: Database, keyset: KeySet
) -> None:
    ids = await record(db, 3) + await record(db, 1, 3) + await record(db, 4, 4)
    first = await sequence(db, keyset)
    assert (first.sequenced, first.size) == (8, 8)
    ids += await record(db, 2, 8) + await record(db, 5, 10)
    second = await sequence(db, keyset)
    assert (second.sequenced, second.size) == (7, 15)
    async with db.transaction() as session:
        leaves = await leaf_rows(session)
        pending = await session.scalar(select(func.count()).select_from(AuditPending))
    assert [index for index, _ in leaves] == list(range(15))
    assert [entry for _, entry in leaves] == ids  # in commit (= id) order
    assert pending == 0


async def test_stored_roots_and_proofs_verify_against_signed_checkpoints(
    db: Database, keyset: KeySet
) -> None:
    await record(db, 13)
    first = (await sequence(db, keyset)).checkpoint
    await record(db, 8, 13)
    second = (await sequence(db, keyset)).checkpoint
    assert first is not None
    assert second is not None
    assert (first.size, second.size) == (13, 21)
    keys = keyset.log_public_keys()
    async with db.transaction() as session:
        leaves = await recomputed_leaf_hashes(session)
        stored_leaves = await session.scalars(
            select(AuditNode.hash).where(AuditNode.level == 0).order_by(AuditNode.position)
        )
        assert list(stored_leaves) == leaves
        for size in range(22):
            assert await tree.root(session, size) == merkle.root(leaves[:size])
        signed = [
            checkpoint.verify(row.note, ORIGIN, keys[row.key_id], origin=ORIGIN)
            for row in (first, second)
        ]
        for cp in signed:
            assert cp.root == merkle.root(leaves[: cp.size])
        oracle = InmemoryTree(algorithm="sha256")  # an independent implementation
        for entry in await canonical_entries(session):
            oracle.append_entry(entry)
        assert [oracle.get_root(cp.size) for cp in signed] == [cp.root for cp in signed]
        for index in range(21):
            proof = await tree.inclusion_proof(session, index, 21)
            assert proof == merkle.inclusion_proof(leaves, index, 21)
            merkle.verify_inclusion(leaves[index], index, 21, proof, signed[1].root)
        proof = await tree.consistency_proof(session, 13, 21)
        assert proof == merkle.consistency_proof(leaves, 13, 21)
        merkle.verify_consistency(13, 21, proof, signed[0].root, signed[1].root)


async def test_a_checkpoint_is_issued_when_due_and_not_when_the_tree_did_not_grow(
    db: Database, keyset: KeySet
) -> None:
    t0 = BASE

    def at(seconds: float) -> dt.datetime:
        return t0 + dt.timedelta(seconds=seconds)

    async def run(seconds: float, *, force: bool = False) -> sequencer.Run:
        return await sequence(db, keyset, now=at(seconds), force=force, interval=2.0)

    await record(db, 3)
    assert (await run(0)).checkpoint is not None  # the first one is always due
    idle = await run(10)
    assert (idle.sequenced, idle.checkpoint) == (0, None)  # did not grow
    await record(db, 1, 3)
    early = await run(1)
    assert (early.sequenced, early.checkpoint) == (1, None)  # grew, but within the interval
    due = await run(2.5)
    assert due.sequenced == 0
    assert due.checkpoint is not None
    assert due.checkpoint.size == 4
    assert (await run(60)).checkpoint is None
    await record(db, 1, 4)
    forced = await run(2.6, force=True)
    assert forced.checkpoint is not None
    assert forced.checkpoint.size == 5
    async with db.transaction() as session:
        sizes = await session.scalars(select(AuditCheckpoint.size).order_by(AuditCheckpoint.size))
        assert list(sizes) == [3, 4, 5]


async def test_concurrent_runs_on_postgresql_take_turns(db: Database, keyset: KeySet) -> None:
    if not is_postgres(db):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite has a single writer")
    await record(db, 5)
    async with db.sessions() as first, first.begin():
        holding = await sequencer.run(
            first, keyset, origin=ORIGIN, now=BASE, interval=2.0, force_checkpoint=True
        )
        async with db.sessions() as second, second.begin():
            other = await sequencer.run(
                second, keyset, origin=ORIGIN, now=BASE, interval=2.0, force_checkpoint=True
            )
    assert holding.sequenced == 5
    assert other.skipped
    assert other.sequenced == 0

    recorded: list[int] = []

    async def writer() -> None:
        for k in range(12):
            recorded.extend(await record(db, 3, 5 + 3 * k))
            await asyncio.sleep(0)

    async def runner() -> list[sequencer.Run]:
        return [await sequence(db, keyset, force=False, interval=0.01) for _ in range(12)]

    _, runs_a, runs_b = await asyncio.gather(writer(), runner(), runner())
    await sequence(db, keyset)
    async with db.transaction() as session:
        leaves = await leaf_rows(session)
        sizes = list(await session.scalars(select(AuditCheckpoint.size)))
    assert [index for index, _ in leaves] == list(range(5 + 36))
    assert sorted(entry for _, entry in leaves[5:]) == sorted(recorded)
    assert len(set(sizes)) == len(sizes)
    done = [r for r in runs_a + runs_b if not r.skipped]
    assert sum(r.sequenced for r in done) <= 36


async def test_entries_committed_during_a_run_are_sequenced_by_the_next(
    db: Database, keyset: KeySet
) -> None:
    """PostgreSQL: a run's transaction is open while other transactions commit entries; the
    run sequences what it saw, the next run the rest. SQLite has one writer, so an entry's
    open transaction makes the run wait after it read the queue; the run then loops until the
    queue is empty, so the late entries may land in that run or the next: either way they
    get the later indices and none is lost."""
    early = await record(db, 4)
    if is_postgres(db):
        async with db.sessions() as session, session.begin():
            running = await sequencer.run(session, keyset, origin=ORIGIN, now=BASE, interval=2.0)
            late = await record(db, 2, 4)  # commits while the run's transaction is open
        assert running.sequenced == 4
        following = await sequence(db, keyset)
        assert (following.sequenced, following.size) == (2, 6)
    else:
        async with db.transaction() as session:
            late_rows = [await log.record(session, disclosure(4 + k)) for k in range(2)]
            task = asyncio.create_task(sequence(db, keyset))
            await asyncio.sleep(0.3)
            assert not task.done()  # waiting for the writer lock
        late = [row.id for row in late_rows]
        running = await task
        following = await sequence(db, keyset)
        assert running.sequenced + following.sequenced == 6
        assert following.size == 6
    async with db.transaction() as session:
        assert await leaf_rows(session) == list(enumerate(early + late))


def sequencer_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name() == "audit-sequencer"}


async def _wait_for(db: Database, size: int, seconds: float = 10.0) -> tuple[int, int | None]:
    deadline = time.monotonic() + seconds
    while True:
        async with db.transaction() as session:
            latest = await tree.latest_checkpoint(session)
            state = (await tree.size(session), latest.size if latest else None)
        if state == (size, size) or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)


async def test_the_app_sequences_in_process_and_stops_cleanly(
    fresh_database_url: str, keys_file: Path
) -> None:
    settings = make_settings(fresh_database_url, keys_file).model_copy(
        update={"checkpoint_interval": 0.2}
    )
    app = create_app(settings)
    db = Database(fresh_database_url)
    others = sequencer_tasks()  # another app (a session fixture) may run its own
    try:
        async with app.router.lifespan_context(app):
            await record(db, 3)
            assert await _wait_for(db, 3) == (3, 3)
            await record(db, 2, 3)
            assert await _wait_for(db, 5) == (5, 5)
            (task,) = sequencer_tasks() - others
        assert task.cancelled()
    finally:
        await db.dispose()


async def test_the_in_process_sequencer_can_be_turned_off(
    fresh_database_url: str, keys_file: Path
) -> None:
    settings = make_settings(fresh_database_url, keys_file).model_copy(
        update={"checkpoint_interval": 0.2, "sequencer": False}
    )
    app = create_app(settings)
    db = Database(fresh_database_url)
    others = sequencer_tasks()
    try:
        async with app.router.lifespan_context(app):
            await record(db, 2)
            await asyncio.sleep(0.6)
            assert await _wait_for(db, 2, seconds=0) == (0, None)
            assert sequencer_tasks() == others
    finally:
        await db.dispose()


async def test_a_failing_run_is_logged_without_data_and_the_loop_goes_on(
    fresh_database_url: str, keys_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys.json"
    settings = make_settings(fresh_database_url, keys).model_copy(
        update={"checkpoint_interval": 0.2}
    )
    app = create_app(settings)  # logs go to the captured stderr from here on
    db = Database(fresh_database_url)
    try:
        async with app.router.lifespan_context(app):
            await record(db, 2)
            await asyncio.sleep(0.5)  # every run fails: the key set is missing
            assert await _wait_for(db, 2, seconds=0) == (0, None)
            shutil.copy(keys_file, keys)
            assert await _wait_for(db, 2) == (2, 2)
    finally:
        await db.dispose()
    failures = [line for line in capsys.readouterr().err.splitlines() if "sequencer" in line]
    assert failures
    assert all("FileNotFoundError" in line for line in failures)
    assert not any("lsr_" in line or "req-" in line for line in failures)


async def test_a_run_ends_while_entries_keep_arriving(db: Database, keyset: KeySet) -> None:
    """A run sequences what was pending when it began and then signs and commits, even while
    other transactions keep committing entries: taking each newly committed entry as well, it
    would run (and hold back its checkpoint) for as long as the stream lasts."""
    if not is_postgres(db):
        pytest.skip("SQLite's single writer makes new entries wait for the run to commit")
    await record(db, 5)
    stop = asyncio.Event()

    async def stream(lane: int) -> int:
        written = 0
        while not stop.is_set():
            await record(db, 1, start=1000 * lane + written)
            written += 1
        return written

    writers = [asyncio.create_task(stream(lane)) for lane in range(1, 9)]  # 8 clients
    try:
        await asyncio.sleep(0.3)  # the stream is flowing
        run = await asyncio.wait_for(sequence(db, keyset), timeout=20)
        assert not any(w.done() for w in writers)  # it ended while entries still arrived
        assert run.checkpoint is not None
        assert run.size == run.checkpoint.size >= 5
    finally:
        stop.set()
        written = sum(await asyncio.gather(*writers))
    rest = await sequence(db, keyset)
    assert rest.size == 5 + written  # the later entries went to the next run, none was lost
