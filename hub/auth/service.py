"""Registering API clients for organisations (RFC 7591 vocabulary, done by an operator).

A `private_key_jwt` client hands over a public JWK set; the hub never sees its private key.
A `client_secret_basic` client gets a generated 256-bit secret, shown once; only its SHA-256
digest is stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from joserfc import jwk
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import repository
from hub.auth.models import Client
from hub.auth.scopes import DEFAULT_SCOPES, parse_scopes
from hub.auth.server import secret_digest
from hub.kit.errors import Conflict, InvalidInput, NotFound
from hub.organisations.models import Organisation

_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@dataclass(frozen=True)
class Registered:
    client: Client
    secret: str | None  # shown once, for client_secret_basic


def validate_public_jwks(document: Any) -> dict[str, Any]:
    """A JWK set (or a single JWK) of public signing keys; private or symmetric keys refused."""
    if isinstance(document, dict) and "keys" not in document:
        document = {"keys": [document]}
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InvalidInput("The client key must be a JWK or a JWK Set (RFC 7517).")
    if not document["keys"]:
        raise InvalidInput("The JWK Set holds no key.")
    for index, key in enumerate(document["keys"]):
        if not isinstance(key, dict):
            raise InvalidInput(f"Key {index} is not a JSON object.")
        leaked = _PRIVATE_MEMBERS & set(key)
        if leaked:
            raise InvalidInput(
                f"Key {index} holds private or symmetric members ({', '.join(sorted(leaked))}); "
                "register only the public key."
            )
        if key.get("kty") not in ("RSA", "EC", "OKP"):
            raise InvalidInput(f"Key {index}: kty must be RSA, EC or OKP.")
    try:
        jwk.KeySet.import_key_set(document)
    except Exception as exc:  # joserfc raises several types for a malformed key
        raise InvalidInput(f"The JWK Set is not valid: {type(exc).__name__}.") from exc
    return document


async def register_client(
    session: AsyncSession,
    *,
    organisation: str,
    name: str,
    scopes: str | None = None,
    jwks: Any = None,
    client_id: str | None = None,
    secret: str | None = None,
) -> Registered:
    """Create a client. With `jwks` it authenticates by private_key_jwt, otherwise by a secret
    (generated unless given, which only the demo does to reuse its saved credentials)."""
    org = await session.get(Organisation, organisation)
    if org is None:
        raise NotFound(f"No organisation with code {organisation}.")
    try:
        granted = parse_scopes(scopes) if scopes else DEFAULT_SCOPES[org.kind]
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    client_id = client_id or f"{organisation.lower()}-{secrets.token_hex(4)}"
    if await session.get(Client, client_id) is not None:
        raise Conflict(f"A client {client_id} exists already.")
    client = Client(
        client_id=client_id, organisation_code=organisation, name=name, scopes=" ".join(granted)
    )
    if jwks is not None:
        client.auth_method = "private_key_jwt"
        client.jwks = validate_public_jwks(jwks)
    else:
        secret = secret or secrets.token_urlsafe(32)
        client.auth_method = "client_secret_basic"
        client.secret_digest = secret_digest(secret)
    session.add(client)
    await session.flush()
    return Registered(client, secret if jwks is None else None)


async def set_enabled(session: AsyncSession, client_id: str, enabled: bool) -> Client:
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound(f"No client {client_id}.")
    client.enabled = enabled
    await session.flush()
    repository.forget(client_id)  # this process stops trusting its cached standing at once
    return client
