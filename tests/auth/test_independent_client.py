"""An independent OAuth client (requests-oauthlib, assertion signed with PyJWT) gets a token
from a real uvicorn on 127.0.0.1, verifies it against the published JWKS, and uses it."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from hub.database import Database
from tests.auth.test_token_endpoint import ASSERTION_TYPE, public_jwk
from tests.factories import Credentials, LiveServer, new_client


@pytest.fixture(autouse=True)
def plain_http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// by default; the test server listens on 127.0.0.1 without TLS
    # (in production TLS ends at the load balancer and HUB_PUBLIC_URL is https).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


async def test_requests_oauthlib_with_private_key_jwt(
    live_server: LiveServer, db: Database
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = await new_client(db, jwks={"keys": [public_jwk(key, "ext-1")]})
    # The independent client is synchronous: run it off the event loop.
    await asyncio.to_thread(private_key_jwt_flow, live_server, client, key)


def private_key_jwt_flow(server: LiveServer, client: Credentials, key: rsa.RSAPrivateKey) -> None:
    metadata = requests.get(
        f"{server.url}/.well-known/oauth-authorization-server", timeout=10
    ).json()
    token_url = metadata["token_endpoint"]
    assert token_url == f"{server.url}/oauth/token"
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]

    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    signed = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "ext-1"})
    session = OAuth2Session(client=BackendApplicationClient(client_id=client.client_id))
    token = session.fetch_token(
        token_url,
        client_assertion_type=ASSERTION_TYPE,
        client_assertion=signed,
        include_client_id=False,
    )
    assert token["token_type"] == "Bearer"

    # Verify the access token with PyJWT against the JWKS fetched over HTTP.
    jwks = jwt.PyJWKClient(metadata["jwks_uri"])
    signing_key = jwks.get_signing_key_from_jwt(token["access_token"])
    verified = jwt.decode(
        token["access_token"],
        signing_key.key,
        algorithms=["RS256"],
        audience=f"{server.url}/v1",
        issuer=metadata["issuer"],
    )
    assert verified["client_id"] == client.client_id

    listed = session.get(f"{server.url}/v1/programmes", timeout=10)
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] >= 40

    # The same assertion a second time is a replay.
    replay = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
        },
        timeout=10,
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_client"


async def test_requests_oauthlib_with_client_secret_basic(
    live_server: LiveServer, db: Database
) -> None:
    client = await new_client(db)
    await asyncio.to_thread(client_secret_basic_flow, live_server, client)


def client_secret_basic_flow(server: LiveServer, client: Credentials) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=client.client_id))
    token = session.fetch_token(
        f"{server.url}/oauth/token",
        auth=requests.auth.HTTPBasicAuth(client.client_id, client.secret or ""),
    )
    assert set(token["scope"]) == set(client.scopes.split())
    response = session.get(f"{server.url}/v1/programmes/MOHW-SELF-SUPPORT-WORK", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["name_ko"] == "자활근로"
