"""`hub audit`: the disclosure log from the command line: sequence, verify, export, prune.

`verify` is the check DESIGN.md promises: it recomputes the Merkle tree (RFC 9162) from the
entries and checks every signed checkpoint (C2SP tlog-checkpoint), trusting nothing in the
database but the entries and the keys, and exits 1 naming the first bad entry. `export` writes
the log as JSON Lines (audit.export) for an auditor to verify elsewhere with `--from-export`.
`prune` removes the oldest checkpointed range once such an export of it is archived
(audit.prune).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import structlog
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

from audit import checkpoint, export, prune, sequencer, store
from audit.checkpoint import CheckpointError
from audit.verify import Report, SignedCheckpoint, external_checkpoint
from hub.alerts import retention
from hub.commands.common import console, fail, run, settings
from hub.database import Database
from hub.kit.clock import utcnow
from hub.settings import Settings
from hub.vault import KeySet, KeySetError
from hub.vault.ring import KeyRing

app = typer.Typer(
    help="The disclosure log: sequence entries, verify the tree and its signed checkpoints, "
    "export it for auditors."
)
EVERY = 500
"""Entries between progress-bar updates."""
T = TypeVar("T")


def _keyset(current: Settings) -> KeySet:
    path = current.keys_path
    if not path.exists():
        raise fail(f"no key set at {path}; set HUB_KEYS_FILE (or run `hub keys init`)")
    try:
        return KeySet.load(path)
    except KeySetError as exc:
        raise fail(str(exc)) from None


class _Bar:
    """A progress bar over entries, advanced in steps of EVERY; exact when it stops."""

    def __init__(self, description: str, total: int | None) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task(description, total=total)
        self.seen = 0

    def advance(self) -> None:
        self.seen += 1
        if self.seen % EVERY == 0:
            self.progress.update(self.task, completed=self.seen)

    def total(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.update(self.task, completed=self.seen)
        self.progress.stop()


# -- sequence ------------------------------------------------------------------------------


def _run_on_database(work: Coroutine[Any, Any, T]) -> T:
    """`run`, with a database that cannot be read reported by error type and a hint (the
    driver's message may quote stored values, so it is not shown)."""
    try:
        return run(work)
    except SQLAlchemyError as exc:
        raise fail(
            f"the database could not be read ({type(exc).__name__}); is HUB_DATABASE_URL "
            "right and the database migrated (`hub db upgrade`)?"
        ) from None


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _describe(result: sequencer.Run) -> str:
    if result.skipped:
        return "another sequencer holds the lock; this run did nothing"
    text = f"sequenced {_count(result.sequenced, 'entry', 'entries')}; the log has {result.size}"
    if result.checkpoint is not None:
        text += f"; signed a checkpoint at size {result.checkpoint.size}"
    return text


async def _sequence_once(
    db: Database, ring: KeyRing, current: Settings, *, force: bool
) -> sequencer.Run:
    async with db.transaction() as session:  # one run, one commit
        return await sequencer.run(
            session,
            ring.current(),
            origin=current.log_origin,
            now=utcnow(),
            interval=current.checkpoint_interval,
            force_checkpoint=force,
        )


async def _sequence(current: Settings, *, loop: bool, pause: float) -> None:
    db = Database(current.database)
    ring = KeyRing(current.keys_path)
    try:
        if not loop:
            result = await _sequence_once(db, ring, current, force=True)
            done = result.sequenced or result.checkpoint or result.skipped
            console.print(_describe(result) if done else "nothing to do")
            return
        log = structlog.get_logger("hub.audit")
        while True:
            try:
                result = await _sequence_once(db, ring, current, force=False)
            except Exception as exc:  # a failed run is retried; the loop never dies
                log.warning("audit.sequencer.failed", error=type(exc).__name__)
            else:
                if result.sequenced or result.checkpoint:  # quiet while idle or locked out
                    console.print(_describe(result))
            await asyncio.sleep(pause)
    finally:
        await db.dispose()


@app.command(
    "sequence",
    help="Give committed disclosure entries their leaf indices and sign checkpoints.\n\n"
    "`hub serve` does this in-process unless HUB_SEQUENCER=off. Any number of sequencers "
    "may run; one at a time works (an advisory lock on PostgreSQL).",
)
def sequence_command(
    once: bool = typer.Option(
        True,
        "--once/--loop",
        help="--once: one run, signing a checkpoint whenever the log grew. --loop: run until "
        "interrupted, signing one every HUB_CHECKPOINT_INTERVAL seconds while entries arrive.",
    ),
    interval: float | None = typer.Option(
        None,
        min=0.05,
        help="Seconds between runs with --loop; default min(1, HUB_CHECKPOINT_INTERVAL / 2).",
    ),
) -> None:
    """Sequence pending entries once, or until interrupted."""
    current = settings()
    _keyset(current)
    pause = interval if interval is not None else min(1.0, current.checkpoint_interval / 2)
    with contextlib.suppress(KeyboardInterrupt):
        _run_on_database(_sequence(current, loop=not once, pause=pause))


# -- verify --------------------------------------------------------------------------------


def _trusted(
    current: Settings, verifier_keys: list[str], origin: str | None
) -> tuple[str, dict[str, Ed25519PublicKey]]:
    """The origin and keys to check signatures with: the given verifier keys (an auditor's),
    else every log-signing key in the key-set file, retired ones too."""
    if not verifier_keys:
        return origin or current.log_origin, _keyset(current).log_public_keys()
    keys: dict[str, Ed25519PublicKey] = {}
    names: set[str] = set()
    for text in verifier_keys:
        try:
            name, public_key = checkpoint.parse_verifier_key(text)
        except CheckpointError as exc:
            raise fail(f"--verifier-key: {exc}") from None
        names.add(name)
        keys[checkpoint.key_id(name, public_key).hex()] = public_key
    if len(names) > 1:
        raise fail("the verifier keys name different logs")
    (name,) = names
    if origin is not None and name != origin:
        raise fail(f"the verifier key is for the log {name}, the export is of {origin}")
    return name, keys


def _saved_checkpoints(paths: list[Path]) -> list[SignedCheckpoint]:
    saved = []
    for path in paths:
        try:
            saved.append(external_checkpoint(path.read_text(encoding="utf-8")))
        except (CheckpointError, UnicodeDecodeError):
            raise fail(f"{path} is not a checkpoint note") from None
    return saved


def _report(report: Report, source: str) -> None:
    if not report.ok:
        where = (
            f"first bad entry: index {report.first_bad_index}"
            if report.first_bad_index is not None
            else f"bad checkpoint: size {report.bad_checkpoint}"
        )
        raise fail(
            f"the disclosure log in {source} does NOT verify\n  {where}\n  reason: {report.reason}"
            f"\n  checked before it: {report.entries} entries, {report.checkpoints} checkpoints"
        )
    console.print(
        f"disclosure log verified ({source}): {_count(report.entries, 'entry', 'entries')}, "
        f"{_count(report.checkpoints, 'checkpoint', 'checkpoints')}, "
        f"latest signed size {report.latest_size}"
    )
    if report.unsigned:
        console.print(
            f"{_count(report.unsigned, 'entry', 'entries')} after the latest checkpoint match "
            "their stored leaf hashes; the next checkpoint will sign them"
        )
    if report.entries and not report.checkpoints:
        console.print("[yellow]warning:[/] no checkpoint signs the log yet")
    if report.pruned:
        console.print(
            f"the log is pruned before index {report.pruned} (archived; `hub audit prune`): "
            "verified from the checkpoint there"
        )


async def _verify_database(
    current: Settings, origin: str, keys: dict[str, Ed25519PublicKey], saved: list[SignedCheckpoint]
) -> Report:
    db = Database(current.database)
    try:
        async with db.sessions() as session, session.begin():
            with _Bar("verifying", await store.count(session)) as bar:
                return await store.verify_database(
                    session, origin, keys, extra_checkpoints=saved, on_leaf=bar.advance
                )
    finally:
        await db.dispose()


@app.command(
    "verify",
    help="Recompute the Merkle tree from the entries and check every signed checkpoint.\n\n"
    "Exits 0 with a summary, or 1 naming the first bad entry (or checkpoint) and why: an "
    "entry altered, deleted, inserted or moved, or the log truncated. Reasons name indices "
    "only, never an entry's content.",
)
def verify_command(
    from_export: Path | None = typer.Option(
        None,
        "--from-export",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Verify this export file (written by `hub audit export`) instead of the database.",
    ),
    verifier_key: list[str] | None = typer.Option(
        None,
        "--verifier-key",
        metavar="KEY",
        help="Trust this C2SP verifier key (<origin>+<key ID>+<base64 key>) instead of the "
        "key-set file; repeat for rotated keys. For auditors who hold no key set.",
    ),
    saved: list[Path] | None = typer.Option(
        None,
        "--checkpoint",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A signed checkpoint kept outside the hub (saved from GET /v1/audit/checkpoint). "
        "The log must match it too, so a truncated log is caught even if its stored "
        "checkpoints were removed. Repeatable.",
    ),
) -> None:
    """Verify the log in the database, or an export of it."""
    current = settings()
    extra = _saved_checkpoints(saved or [])
    if from_export is None:
        origin, keys = _trusted(current, verifier_key or [], None)
        report = _run_on_database(_verify_database(current, origin, keys, extra))
        _report(report, "the database")
        return
    try:
        header = export.read_header(from_export)
        origin, keys = _trusted(current, verifier_key or [], header.origin)
        with _Bar("verifying", None) as bar:
            report = export.verify_export(
                from_export,
                origin,
                keys,
                extra_checkpoints=extra,
                on_total=bar.total,
                on_leaf=bar.advance,
            )
    except export.ExportError as exc:
        raise fail(f"{from_export} is not a valid export: {exc}") from None
    _report(report, str(from_export))


# -- export --------------------------------------------------------------------------------


async def _export(current: Settings, keyset: KeySet, target: Path) -> tuple[int, int]:
    db = Database(current.database)
    try:
        async with db.sessions() as session, session.begin():
            bar = _Bar("exporting", await store.count(session))
            with bar, target.open("w", encoding="utf-8", newline="\n") as stream:
                return await export.write(
                    session,
                    stream,
                    origin=current.log_origin,
                    keys=keyset.log_public_keys(),
                    now=utcnow(),
                    on_leaf=bar.advance,
                )
    finally:
        await db.dispose()


@app.command(
    "export",
    help="Write the whole log (entries, stored leaf hashes, signed checkpoints) as JSON Lines."
    "\n\nAnyone holding the log's verifier key checks it with `hub audit verify --from-export "
    "FILE`. The file holds pseudonymous disclosure records: keep it as confidential as the log.",
)
def export_command(
    file: Path = typer.Argument(..., dir_okay=False, help="The JSON Lines file to write."),
    force: bool = typer.Option(False, "--force", help="Replace FILE if it exists."),
) -> None:
    """Export the log to FILE."""
    current = settings()
    keyset = _keyset(current)
    if file.exists() and not force:
        raise fail(f"{file} exists already; pass --force to replace it")
    partial = file.with_name(file.name + ".partial")
    try:
        entries, checkpoints = _run_on_database(_export(current, keyset, partial))
        partial.replace(file)  # all or nothing: no half-written export under the real name
    finally:
        partial.unlink(missing_ok=True)
    console.print(
        f"exported {_count(entries, 'entry', 'entries')} and "
        f"{_count(checkpoints, 'checkpoint', 'checkpoints')} to [bold]{file}[/]"
    )


# -- prune ---------------------------------------------------------------------------------


def _archive_holds(
    archive: Path, size: int, origin: str, keys: dict[str, Ed25519PublicKey]
) -> bytes:
    """Verify the archive with the log's own keys and check that it holds every entry before
    `size` (from where the log is pruned so far) and a checkpoint at `size`; its root."""
    try:
        header = export.read_header(archive)
        if header.origin != origin:
            raise fail(f"{archive} is an export of another log ({header.origin})")
        with _Bar("verifying the archive", None) as bar:
            report = export.verify_export(
                archive, origin, keys, on_total=bar.total, on_leaf=bar.advance
            )
        notes, _ = export.read_checkpoints(archive)
    except export.ExportError as exc:
        raise fail(f"{archive} is not a valid export: {exc}") from None
    if not report.ok:
        raise fail(f"{archive} does not verify ({report.reason}); nothing was pruned")
    roots = {
        opened.root
        for note in notes
        if note.size == size
        for opened in _opened(note.note, origin, keys)
    }
    if report.pruned + report.entries < size or not roots:
        raise fail(f"{archive} holds no checkpoint at size {size}: export the log again")
    return roots.pop()


def _opened(
    note: str, origin: str, keys: dict[str, Ed25519PublicKey]
) -> list[checkpoint.Checkpoint]:
    opened = []
    for key in keys.values():
        with contextlib.suppress(CheckpointError):
            opened.append(checkpoint.verify(note, origin, key, origin=origin))
    return opened


async def _plan(current: Settings, size: int) -> prune.Plan:
    db = Database(current.database)
    try:
        async with db.sessions() as session, session.begin():
            return await prune.plan(session, size)
    finally:
        await db.dispose()


async def _prune(
    current: Settings, size: int, archive_root: bytes, archive_first: int, digest: str
) -> tuple[prune.Plan, int, int]:
    db = Database(current.database)
    try:
        async with db.sessions() as session, session.begin():
            plan = await prune.plan(session, size)
            if archive_root != plan.root:
                raise fail(f"the archive's checkpoint at size {size} is not the log's")
            if archive_first > plan.start:
                raise fail(
                    f"the archive starts at index {archive_first}, but entries from index "
                    f"{plan.start} are still in the log: export the log again"
                )
            removed = forgotten = 0
            with _Bar("pruning", plan.size - plan.start) as bar:
                for start in range(plan.start, plan.size, prune.BATCH):
                    end = min(start + prune.BATCH, plan.size)
                    ids = await prune.entry_ids(session, start, end)
                    forgotten += await retention.forget_disclosed(session, ids)
                    await prune.remove(session, start, end, ids)
                    removed += len(ids)
                    for _ in range(end - start):
                        bar.advance()
            await prune.record(session, plan, archive_sha256=digest, entries=removed, now=utcnow())
            return plan, removed, forgotten
    finally:
        await db.dispose()


@app.command(
    "prune",
    help="Remove the oldest entries of the log, up to a checkpoint, once they are archived."
    "\n\nRetention works on whole checkpointed ranges: ARCHIVE must be an export (`hub audit "
    "export`) that verifies with the log's keys and holds a checkpoint at SIZE equal to the "
    "log's; the entries of leaves [0, SIZE) and the alert deliveries they record are then "
    "deleted in one transaction. The tree's hashes and every checkpoint stay, so roots and "
    "proofs are still answered and `hub audit verify` starts at SIZE. Keep ARCHIVE under the "
    "retention rules for disclosure records; its SHA-256 is recorded.",
)
def prune_command(
    size: int = typer.Option(
        ...,
        "--through",
        metavar="SIZE",
        min=1,
        help="Prune the entries before this index: a size a stored checkpoint signs.",
    ),
    archive: Path = typer.Option(
        ...,
        "--archive",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="The verified export that holds the entries being pruned.",
    ),
) -> None:
    """Prune the log before SIZE, keeping its hashes and checkpoints."""
    current = settings()
    keyset = _keyset(current)
    origin, keys = current.log_origin, keyset.log_public_keys()
    try:
        _run_on_database(_plan(current, size))  # the cheap refusals before reading the archive
    except prune.PruneError as exc:
        raise fail(f"nothing was pruned: {exc}") from None
    root = _archive_holds(archive, size, origin, keys)
    header = export.read_header(archive)
    first = header.pruned.size if header.pruned is not None else 0
    digest = hashlib.sha256()
    with archive.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    try:
        plan, removed, forgotten = _run_on_database(
            _prune(current, size, root, first, digest.hexdigest())
        )
    except prune.PruneError as exc:
        raise fail(f"nothing was pruned: {exc}") from None
    except retention.UndeliveredError as exc:
        raise fail(f"nothing was pruned: {exc}") from None
    console.print(
        f"pruned {_count(removed, 'entry', 'entries')} (indices {plan.start} to {plan.size - 1}) "
        f"and {_count(forgotten, 'alert delivery', 'alert deliveries')}; the log now starts at "
        f"index {plan.size}, archived in {archive.name} (sha256 {digest.hexdigest()[:16]}…)"
    )
