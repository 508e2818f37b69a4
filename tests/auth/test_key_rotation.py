"""Token-signing keys rotate without downtime: a running app picks up the rotated key-set file,
signs new tokens with the new key, keeps accepting tokens signed with the old (active) key,
and stops accepting them once the old key is retired."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import jwt

from hub.database import Database
from hub.kit.clock import utcnow
from hub.main import create_app
from hub.vault import KeyPurpose, KeySet
from tests.conftest import make_settings
from tests.factories import bearer, new_client


async def test_rotate_then_retire_token_signing_key(
    database_url: str, keys_file: Path, tmp_path: Path, db: Database
) -> None:
    keys = tmp_path / "keys.json"
    shutil.copy(keys_file, keys)
    app = create_app(make_settings(database_url, keys))
    client = await new_client(db)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://hub.test") as api,
    ):
        old_headers = await bearer(api, client)
        old_kid = jwt.get_unverified_header(old_headers["Authorization"][7:])["kid"]

        KeySet.load(keys).rotate(KeyPurpose.TOKEN_SIGNING, utcnow()).save(keys)
        new_headers = await bearer(api, client)
        new_kid = jwt.get_unverified_header(new_headers["Authorization"][7:])["kid"]
        assert new_kid != old_kid
        published = {k["kid"] for k in (await api.get("/.well-known/jwks.json")).json()["keys"]}
        assert published == {old_kid, new_kid}
        assert (await api.get("/v1/programmes", headers=old_headers)).status_code == 200
        assert (await api.get("/v1/programmes", headers=new_headers)).status_code == 200

        KeySet.load(keys).retire(old_kid).save(keys)
        published = {k["kid"] for k in (await api.get("/.well-known/jwks.json")).json()["keys"]}
        assert published == {new_kid}
        assert (await api.get("/v1/programmes", headers=old_headers)).status_code == 401
        assert (await api.get("/v1/programmes", headers=new_headers)).status_code == 200
