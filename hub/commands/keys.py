"""`hub keys`: the key-set file (HUB_KEYS_FILE, default var/keys.json).

Rotation without downtime: `rotate` writes a new primary key and keeps the old one active, so
running processes (which re-read the file on change) keep decrypting old data and verifying
old tokens; `reencrypt` then moves stored RRNs (and the webhook signing secrets, which are
sealed with the same encryption key) to the new keys; `retire` ends an old key, and is refused
while anything stored still depends on it.
"""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from hub.alerts import rekey as secrets_rekey
from hub.commands.common import console, fail, in_transaction, run, settings
from hub.kit.clock import utcnow
from hub.records import rekey
from hub.vault import KeyPurpose, KeySet, KeySetError

app = typer.Typer(help="The key set: create, list, rotate, re-encrypt, retire.")


def _load() -> KeySet:
    path = settings().keys_path
    if not path.exists():
        raise fail(f"no key set at {path}; create one with `hub keys init`")
    try:
        return KeySet.load(path)
    except KeySetError as exc:
        raise fail(str(exc)) from None


@app.command()
def init(
    force: bool = typer.Option(False, help="Replace an existing key set (data is lost!)"),
) -> None:
    """Create a key set with one primary key per purpose (file mode 0600)."""
    path = settings().keys_path
    if path.exists() and not force:
        raise fail(f"{path} exists already; keys are not replaced without --force")
    KeySet.generate(utcnow()).save(path)
    console.print(f"key set written to [bold]{path}[/]")


@app.command("list")
def list_keys() -> None:
    """Show each key's id, purpose, status and creation time (never the material)."""
    table = Table("kid", "purpose", "status", "created")
    for key in _load():
        table.add_row(key.kid, key.purpose.value, key.status.value, key.created_at.isoformat())
    console.print(table)


@app.command()
def rotate(
    purpose: KeyPurpose = typer.Argument(..., help="Which key to rotate."),
    force: bool = typer.Option(
        False, help="Allow rotating pseudonym/blind-index keys (changes subject_refs/index)."
    ),
) -> None:
    """Make a new primary key for PURPOSE; the old one stays usable for reading/verifying."""
    path = settings().keys_path
    try:
        rotated = _load().rotate(purpose, utcnow(), force=force)
    except KeySetError as exc:
        raise fail(str(exc)) from None
    rotated.save(path)
    console.print(f"new primary {purpose.value} key: [bold]{rotated.primary(purpose).kid}[/]")
    if purpose in (KeyPurpose.RRN_ENCRYPTION, KeyPurpose.BLIND_INDEX):
        console.print("run [bold]hub keys reencrypt[/] to move stored RRNs to the new key")


# What `reencrypt` moves and `retire` counts: every kind of stored data sealed or indexed
# with a vault key. A new kind of sealed data must be added here, or retiring would strand it.
_HOLDERS = (
    ("person(s)", rekey.count_stale, rekey.rekey_batch, rekey.usage),
    (
        "webhook secret(s)",
        secrets_rekey.count_stale,
        secrets_rekey.rekey_batch,
        secrets_rekey.usage,
    ),
)


@app.command()
def reencrypt(
    batch: int = typer.Option(500, min=1, max=10000, help="Rows per transaction."),
) -> None:
    """Re-seal stored RRNs (and their blind index) and webhook signing secrets under the
    primary keys, with progress."""
    keyset = _load()
    for noun, count_stale, rekey_batch, _ in _HOLDERS:
        total = run(in_transaction(lambda s, c=count_stale: c(s, keyset)))  # type: ignore[misc]
        done = 0
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"re-encrypting {noun}", total=total)
            while True:
                count = run(in_transaction(lambda s, r=rekey_batch: r(s, keyset, batch)))  # type: ignore[misc]
                if count == 0:
                    break
                done += count
                progress.update(task, advance=count)
        console.print(f"{done} {noun} re-keyed")


@app.command()
def retire(kid: str = typer.Argument(..., help="The key id to retire.")) -> None:
    """Retire a non-primary key; refused while stored data still depends on it."""
    keyset = _load()
    for noun, _, _, usage in _HOLDERS:
        rows = sum(u.rows for u in run(in_transaction(usage)) if u.kid == kid)
        if rows:
            raise fail(f"{kid} still protects {rows} {noun}; run `hub keys reencrypt`")
    try:
        keyset.retire(kid).save(settings().keys_path)
    except KeySetError as exc:
        raise fail(str(exc)) from None
    console.print(f"{kid} retired")
