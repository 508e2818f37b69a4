"""The bearer-token guard of the API: every malformed, forged, expired, mis-addressed or
under-scoped token gets 401/403 problem+json, never data and never a 500."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.database import Database
from hub.settings import Settings
from hub.vault import KeySet
from tests.factories import bearer, new_client


def hub_signed(keys_file: Path, settings: Settings, **overrides: Any) -> str:
    """A token signed with the hub's own key, with chosen claims (to test the validator)."""
    signing = KeySet.load(keys_file).token_signing_private_key()
    typ = overrides.pop("typ", "at+jwt")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.resource_audience,
        "sub": "x",
        "client_id": "x",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "scope": "admin",
        "org": "MOHW",
    } | overrides
    headers = {"kid": signing.kid, "typ": typ}
    return jwt.encode(claims, signing.private_key, algorithm="RS256", headers=headers)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"urn:hub:problem:{slug}"
    assert body["status"] == status
    assert "items" not in body
    return body


async def test_no_token_is_401_with_a_challenge(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/programmes")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer a b c",
        "bearer !!!.???.###",
    ],
)
async def test_malformed_token_is_401(api: httpx.AsyncClient, header: str) -> None:
    assert_problem(
        await api.get("/v1/programmes", headers={"Authorization": header}), 401, "unauthenticated"
    )


async def test_non_ascii_token_is_401(api: httpx.AsyncClient) -> None:
    headers = [(b"authorization", "Bearer 토큰.토큰.토큰".encode())]
    response = await api.get("/v1/programmes", headers=headers)
    assert_problem(response, 401, "unauthenticated")


async def test_well_formed_garbage_token_is_401(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/programmes", headers={"Authorization": "Bearer aaaa.bbbb.cccc"})
    body = assert_problem(response, 401, "unauthenticated")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert body["detail"]


async def test_token_signed_by_a_stranger_is_401(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": settings.issuer,
            "aud": settings.resource_audience,
            "sub": "x",
            "client_id": "x",
            "iat": now,
            "exp": now + 60,
            "jti": "j",
            "scope": "admin",
        },
        stranger,
        algorithm="RS256",
        headers={"typ": "at+jwt"},
    )
    assert_problem(
        await api.get("/v1/programmes", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthenticated",
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        {"aud": "https://elsewhere.example/v1"},
        {"iss": "https://impostor.example"},
        {"typ": "JWT"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "not-an-access-token"],
)
async def test_hub_signed_but_invalid_token_is_401(
    api: httpx.AsyncClient, keys_file: Path, settings: Settings, overrides: dict[str, Any]
) -> None:
    token = hub_signed(keys_file, settings, **overrides)
    assert_problem(
        await api.get("/v1/programmes", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthenticated",
    )


async def test_valid_signature_for_unknown_client_is_401(
    api: httpx.AsyncClient, keys_file: Path, settings: Settings
) -> None:
    token = hub_signed(keys_file, settings, client_id="ghost", sub="ghost")
    assert_problem(
        await api.get("/v1/programmes", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthenticated",
    )


async def test_missing_scope_is_403(api: httpx.AsyncClient, db: Database) -> None:
    client = await new_client(db)
    headers = await bearer(api, client)
    response = await api.get("/v1/clients", headers=headers)
    body = assert_problem(response, 403, "insufficient-scope")
    assert "admin" in body["detail"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_admin_scope_reaches_the_admin_endpoint(api: httpx.AsyncClient, db: Database) -> None:
    client = await new_client(db, scopes="admin")
    response = await api.get("/v1/clients", headers=await bearer(api, client))
    assert response.status_code == 200, response.text
    listed = {c["client_id"]: c for c in response.json()["items"]}
    assert listed[client.client_id]["scopes"] == ["admin"]
    assert "secret" not in str(listed[client.client_id]).lower().replace("client_secret_basic", "")


async def test_disabled_client_loses_access_on_the_next_request(
    api: httpx.AsyncClient, db: Database
) -> None:
    from hub.auth import service

    client = await new_client(db)
    headers = await bearer(api, client)
    assert (await api.get("/v1/programmes", headers=headers)).status_code == 200
    async with db.transaction() as session:
        await service.set_enabled(session, client.client_id, False)
    assert_problem(await api.get("/v1/programmes", headers=headers), 401, "unauthenticated")


async def test_bad_actor_header_is_422(api: httpx.AsyncClient, db: Database) -> None:
    client = await new_client(db)
    headers = await bearer(api, client) | {"Hub-Actor": "a b c; drop"}
    body = assert_problem(await api.get("/v1/programmes", headers=headers), 422, "invalid-input")
    assert body["errors"][0]["field"] == "header:Hub-Actor"


async def test_a_remembered_token_is_refused_once_it_expires(
    api: httpx.AsyncClient, db: Database, keys_file: Path, settings: Settings
) -> None:
    """A token that passed is remembered (hub.auth.dependencies `_Validator`), but its time
    claims are checked on every request: this one is inside the clock leeway for two more
    seconds, passes twice, and is refused after."""
    client = await new_client(db)
    now = int(time.time())
    token = hub_signed(
        keys_file,
        settings,
        client_id=client.client_id,
        sub=client.client_id,
        org=client.organisation,
        iat=now - settings.clock_leeway - 60,
        exp=now - settings.clock_leeway + 2,
    )
    headers = {"Authorization": f"Bearer {token}"}
    first = await api.get("/v1/programmes", headers=headers)
    assert first.status_code == 200, first.text
    assert (await api.get("/v1/programmes", headers=headers)).status_code == 200
    await asyncio.sleep(now + 3 - time.time())  # past exp + leeway, by whole seconds
    assert_problem(await api.get("/v1/programmes", headers=headers), 401, "unauthenticated")


async def test_a_remembered_token_with_another_signature_is_refused(
    api: httpx.AsyncClient, db: Database
) -> None:
    """The memory is keyed by the whole token: the same header and claims under a signature
    the hub did not make are verified, and fail."""
    client = await new_client(db)
    headers = await bearer(api, client)
    assert (await api.get("/v1/programmes", headers=headers)).status_code == 200
    head, claims, signature = headers["Authorization"].removeprefix("Bearer ").split(".")
    forged = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    response = await api.get(
        "/v1/programmes", headers={"Authorization": f"Bearer {head}.{claims}.{forged}"}
    )
    assert_problem(response, 401, "unauthenticated")
    assert (await api.get("/v1/programmes", headers=headers)).status_code == 200
