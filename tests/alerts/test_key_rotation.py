"""Key rotation reaches the webhook signing secrets: they are sealed with the RRN-encryption
key, so `hub keys retire` must refuse while a secret still depends on the old key, and
`hub keys reencrypt` must move them, or every delivery would dead-letter after the retire."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from hub.alerts import signing, subscriptions
from hub.alerts.models import AlertSubscription
from hub.cli import app
from hub.database import Database
from hub.vault import KeyPurpose, KeySet

runner = CliRunner()


async def _subscribe(url: str, keyset: KeySet) -> str:
    """A webhook subscription as the API stores it, with its secret sealed under `keyset`."""
    database = Database(url)
    try:
        async with database.transaction() as session:
            row = AlertSubscription(
                id="sub_rotation",
                organisation="MOEL",
                client_id="moel-test",
                event_types=["person.died"],
                mode="webhook",
                url="https://moel.example/hooks",
            )
            secret = signing.new_secret()
            sealed = signing.seal(keyset, row.id, secret)
            row.secret_kid, row.secret_sealed = sealed.kid, sealed.blob
            session.add(row)
        return secret
    finally:
        await database.dispose()


async def _stored(url: str) -> AlertSubscription:
    database = Database(url)
    try:
        async with database.transaction() as session:
            row = await session.scalar(select(AlertSubscription))
            assert row is not None
            session.expunge(row)
            return row
    finally:
        await database.dispose()


def test_retire_counts_and_reencrypt_moves_webhook_secrets(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.json"
    shutil.copy(keys_file, keys)  # the session's key set is shared: rotate a copy
    env = {"HUB_DATABASE_URL": fresh_database_url, "HUB_KEYS_FILE": str(keys), "COLUMNS": "200"}
    assert runner.invoke(app, ["catalogue", "load"], env=env).exit_code == 0
    secret = asyncio.run(_subscribe(fresh_database_url, KeySet.load(keys)))
    old = KeySet.load(keys).primary(KeyPurpose.RRN_ENCRYPTION).kid

    rotated = runner.invoke(app, ["keys", "rotate", "rrn-encryption"], env=env)
    assert rotated.exit_code == 0, rotated.output
    refused = runner.invoke(app, ["keys", "retire", old], env=env)
    assert refused.exit_code == 1
    assert "still protects 1 webhook secret(s)" in refused.output

    moved = runner.invoke(app, ["keys", "reencrypt"], env=env)
    assert moved.exit_code == 0, moved.output
    assert "0 person(s) re-keyed" in moved.output
    assert "1 webhook secret(s) re-keyed" in moved.output
    retired = runner.invoke(app, ["keys", "retire", old], env=env)
    assert retired.exit_code == 0, retired.output

    keyset = KeySet.load(keys)
    row = asyncio.run(_stored(fresh_database_url))
    assert row.secret_kid == keyset.primary(KeyPurpose.RRN_ENCRYPTION).kid != old
    assert subscriptions.secret_of(keyset, row) == secret  # still signs with the same secret
