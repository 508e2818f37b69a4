"""The token endpoint over HTTP: client_secret_basic, private_key_jwt (assertions signed with
PyJWT, independent of the hub's JOSE library), and every refusal as problem+json.

RFC 6749 §5.2: failed Basic authentication is 401 with a challenge; a failed assertion is 400."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hub.database import Database
from hub.settings import Settings
from tests.factories import Credentials, new_client

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.RSAAlgorithm
        if isinstance(private_key, rsa.RSAPrivateKey)
        else jwt.algorithms.ECAlgorithm
    )
    document = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    return document | {"kid": kid, "use": "sig"}


def assertion(
    private_key: Any,
    client_id: str,
    audience: str,
    *,
    alg: str = "RS256",
    kid: str = "k1",
    **overrides: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 120,
        "jti": str(uuid.uuid4()),
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid})


async def token_with_assertion(api: httpx.AsyncClient, signed: str, **form: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    } | form
    return await api.post("/oauth/token", data=data)


def assert_oauth_problem(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["error"] == error
    assert body["status"] == status
    assert body["type"] == f"urn:hub:problem:oauth-{error.replace('_', '-')}"
    assert response.headers["cache-control"] == "no-store"
    return body


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def jwt_client(db: Database, rsa_key: rsa.RSAPrivateKey) -> Credentials:
    return await new_client(db, jwks={"keys": [public_jwk(rsa_key, "k1")]})


@pytest.fixture
async def secret_client(db: Database) -> Credentials:
    return await new_client(db)


# --- client_secret_basic -------------------------------------------------------------------


async def test_secret_basic_issues_a_verifiable_rfc9068_token(
    api: httpx.AsyncClient, secret_client: Credentials, settings: Settings
) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": secret_client.basic},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == secret_client.scopes
    jwks = (await api.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        body["access_token"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=settings.resource_audience,
        issuer=settings.issuer,
    )
    assert claims["client_id"] == claims["sub"] == secret_client.client_id
    assert claims["org"] == secret_client.organisation
    assert claims["org_kind"] == "ministry"
    assert 0 < claims["exp"] - claims["iat"] <= settings.access_token_ttl
    assert claims["jti"]


async def test_narrower_scope_is_granted(
    api: httpx.AsyncClient, secret_client: Credentials
) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "eligibility:verify"},
        headers={"Authorization": secret_client.basic},
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "eligibility:verify"


async def test_unknown_client_is_401(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("no-such-client", "whatever"),
    )
    assert_oauth_problem(response, 401, "invalid_client")
    assert "Basic" in response.headers.get("www-authenticate", "")


async def test_bad_secret_is_401(api: httpx.AsyncClient, secret_client: Credentials) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(secret_client.client_id, "wrong-secret"),
    )
    assert_oauth_problem(response, 401, "invalid_client")


async def test_unsupported_grant_is_400(api: httpx.AsyncClient, secret_client: Credentials) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "u", "password": "p"},
        headers={"Authorization": secret_client.basic},
    )
    assert_oauth_problem(response, 400, "unsupported_grant_type")


async def test_missing_grant_type_is_400(
    api: httpx.AsyncClient, secret_client: Credentials
) -> None:
    response = await api.post(
        "/oauth/token",
        data={"scope": "eligibility:verify"},
        headers={"Authorization": secret_client.basic},
    )
    assert_oauth_problem(response, 400, "unsupported_grant_type")


async def test_empty_body_is_400(api: httpx.AsyncClient, secret_client: Credentials) -> None:
    response = await api.post("/oauth/token", headers={"Authorization": secret_client.basic})
    assert_oauth_problem(response, 400, "invalid_request")


async def test_json_body_is_400(api: httpx.AsyncClient, secret_client: Credentials) -> None:
    response = await api.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        headers={"Authorization": secret_client.basic},
    )
    assert_oauth_problem(response, 400, "invalid_request")


async def test_repeated_parameter_is_400(
    api: httpx.AsyncClient, secret_client: Credentials
) -> None:
    response = await api.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={
            "Authorization": secret_client.basic,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert_oauth_problem(response, 400, "invalid_request")


@pytest.mark.parametrize("scope", ["audit:read", "no-such-scope", "admin"])
async def test_scope_beyond_the_client_is_400(
    api: httpx.AsyncClient, secret_client: Credentials, scope: str
) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": secret_client.basic},
    )
    assert_oauth_problem(response, 400, "invalid_scope")


async def test_jwt_client_cannot_use_a_secret(
    api: httpx.AsyncClient, jwt_client: Credentials
) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(jwt_client.client_id, "guess"),
    )
    assert_oauth_problem(response, 401, "invalid_client")


async def test_malformed_basic_header_is_401(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic %%%not-base64"},
    )
    assert_oauth_problem(response, 401, "invalid_client")


# --- private_key_jwt -----------------------------------------------------------------------


async def test_private_key_jwt_issues_a_token(
    api: httpx.AsyncClient, jwt_client: Credentials, rsa_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    response = await token_with_assertion(
        api, assertion(rsa_key, jwt_client.client_id, settings.token_endpoint)
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == jwt_client.client_id


async def test_issuer_is_an_accepted_audience(
    api: httpx.AsyncClient, jwt_client: Credentials, rsa_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    response = await token_with_assertion(
        api, assertion(rsa_key, jwt_client.client_id, settings.issuer)
    )
    assert response.status_code == 200, response.text


async def test_ec_keys_work_too(api: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    client = await new_client(db, jwks=public_jwk(key, "ec1"))
    signed = assertion(key, client.client_id, settings.token_endpoint, alg="ES256", kid="ec1")
    response = await token_with_assertion(api, signed)
    assert response.status_code == 200, response.text


async def test_replayed_jti_is_rejected(
    api: httpx.AsyncClient, jwt_client: Credentials, rsa_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    signed = assertion(rsa_key, jwt_client.client_id, settings.token_endpoint)
    first = await token_with_assertion(api, signed)
    assert first.status_code == 200, first.text
    second = await token_with_assertion(api, signed)
    body = assert_oauth_problem(second, 400, "invalid_client")
    assert "already used" in body["detail"]


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("expired", {"iat": -600, "exp": -300}),
        ("issued in the future", {"iat": 600, "exp": 700}),
        ("not yet valid", {"nbf": 600}),
        ("wrong audience", {"aud": "https://someone-else.example/token"}),
        ("no audience", {"aud": None}),
        ("no expiry", {"exp": None}),
        ("no jti", {"jti": None}),
        ("no iat", {"iat": None}),
        ("lives too long", {"exp": 3600}),
        ("issuer differs from subject", {"iss": "someone-else"}),
    ],
)
async def test_bad_assertions_are_401(
    api: httpx.AsyncClient,
    jwt_client: Credentials,
    rsa_key: rsa.RSAPrivateKey,
    settings: Settings,
    case: str,
    overrides: dict[str, Any],
) -> None:
    # Time claims in the table are offsets from now, resolved when the test runs.
    now = int(time.time())
    resolved = {
        k: now + v if k in ("iat", "exp", "nbf") and isinstance(v, int) else v
        for k, v in overrides.items()
    }
    signed = assertion(rsa_key, jwt_client.client_id, settings.token_endpoint, **resolved)
    response = await token_with_assertion(api, signed)
    assert_oauth_problem(response, 400, "invalid_client")


async def test_assertion_signed_by_another_key_is_400(
    api: httpx.AsyncClient, jwt_client: Credentials, settings: Settings
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = await token_with_assertion(
        api, assertion(stranger, jwt_client.client_id, settings.token_endpoint)
    )
    assert_oauth_problem(response, 400, "invalid_client")


async def test_assertion_with_alg_none_is_400(
    api: httpx.AsyncClient, jwt_client: Credentials, settings: Settings
) -> None:
    now = int(time.time())
    claims = {
        "iss": jwt_client.client_id,
        "sub": jwt_client.client_id,
        "aud": settings.token_endpoint,
        "iat": now,
        "exp": now + 60,
        "jti": "x",
    }
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert_oauth_problem(await token_with_assertion(api, unsigned), 400, "invalid_client")


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30."])
async def test_malformed_assertion_is_400(api: httpx.AsyncClient, garbage: str) -> None:
    assert_oauth_problem(await token_with_assertion(api, garbage), 400, "invalid_client")


async def test_assertion_for_unknown_client_is_400(
    api: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    response = await token_with_assertion(
        api, assertion(rsa_key, "nobody-1234", settings.token_endpoint)
    )
    assert_oauth_problem(response, 400, "invalid_client")


async def test_secret_client_cannot_use_an_assertion(
    api: httpx.AsyncClient,
    secret_client: Credentials,
    rsa_key: rsa.RSAPrivateKey,
    settings: Settings,
) -> None:
    response = await token_with_assertion(
        api, assertion(rsa_key, secret_client.client_id, settings.token_endpoint)
    )
    assert_oauth_problem(response, 400, "invalid_client")
