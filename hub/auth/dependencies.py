"""Request-scoped dependencies: the unit of work and the authenticated caller.

The session lives here, beside the guard that needs it, because only `hub.main`, `hub.api`
and `hub.auth` may import FastAPI (ARCHITECTURE.md). Routers declare what they need as
`Annotated` aliases: `DbSession`, `Caller`, and `Security(require, scopes=[...])`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from joserfc import jwk
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import repository
from hub.auth.scopes import Scope
from hub.kit.errors import InsufficientScope, InvalidInput, Unauthenticated
from hub.settings import Settings
from hub.vault.ring import KeyRing

_JWS_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ACTOR = re.compile(r"[A-Za-z0-9._@:-]{1,64}")

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes={s.value: s.name.lower() for s in Scope}
        )
    ),
    scheme_name="hub_oauth2",
    description="OAuth 2 client credentials; send `Authorization: Bearer <access token>`.",
    auto_error=False,
)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the endpoint returns, before the
    response is sent (`scope="function"`), rolled back on any error."""
    async with request.app.state.db.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the client, its organisation, the granted scopes and the staff actor."""

    client_id: str
    organisation: str
    organisation_kind: str
    scopes: frozenset[str]
    token_id: str
    actor: str | None


class _Validator(JWTBearerTokenValidator):  # type: ignore[misc]
    """RFC 9068 §4 validation (iss, aud, exp, typ) against the hub's own published keys."""

    def __init__(self, settings: Settings, keyring: KeyRing) -> None:
        super().__init__(issuer=settings.issuer, resource_server=settings.resource_audience)
        self._keyring = keyring

    def get_jwks(self) -> jwk.KeySet:
        return jwk.KeySet.import_key_set(self._keyring.current().public_jwks())


def _challenge(error: str, description: str, **params: str) -> dict[str, str]:
    extra = "".join(f', {k}="{v}"' for k, v in params.items())
    value = f'Bearer realm="hub", error="{error}", error_description="{description}"{extra}'
    return {"WWW-Authenticate": value}


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated(
            "Send an access token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": 'Bearer realm="hub"'},
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.isascii() or not _JWS_COMPACT.fullmatch(token):
        raise Unauthenticated(
            "The Authorization header is not a well-formed Bearer token.",
            headers=_challenge("invalid_request", "malformed bearer token"),
        )
    return token


async def _claims(request: Request, token: str) -> dict[str, Any]:
    state = request.app.state
    validator = _Validator(state.settings, state.keyring)
    try:
        claims = validator.authenticate_token(token)
        claims.validate(leeway=state.settings.clock_leeway)
    except Exception as exc:  # authlib/joserfc raise several types; all mean "not valid"
        raise Unauthenticated(
            "The access token is invalid or expired.",
            headers=_challenge("invalid_token", "invalid or expired token"),
        ) from exc
    if claims.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        raise Unauthenticated(
            "The token is not an RFC 9068 access token.",
            headers=_challenge("invalid_token", "not an access token"),
        )
    return dict(claims)


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    session: DbSession,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """Validate the bearer token, re-check that its client is still enabled, then check scopes.

    Deny by default: the scopes an endpoint declares must all be granted to the token.
    """
    claims = await _claims(request, _bearer_token(authorization))
    found = await repository.client_with_kind(session, str(claims.get("client_id", "")))
    if found is None or not found[0].enabled or found[0].organisation_code != claims.get("org"):
        raise Unauthenticated(
            "The client of this token is unknown or disabled.",
            headers=_challenge("invalid_token", "client disabled"),
        )
    granted = frozenset(str(claims.get("scope", "")).split())
    missing = [s for s in security_scopes.scopes if s not in granted]
    if missing:
        raise InsufficientScope(
            f"This operation needs the scope(s): {' '.join(missing)}.",
            headers=_challenge(
                "insufficient_scope", "missing scope", scope=" ".join(security_scopes.scopes)
            ),
        )
    actor = request.headers.get("hub-actor")
    if actor is not None and not _ACTOR.fullmatch(actor):
        raise InvalidInput(
            "Hub-Actor must be a staff id of 1-64 letters, digits or . _ @ : -",
            errors=[{"field": "header:Hub-Actor", "reason": "invalid staff id"}],
        )
    principal = Principal(
        client_id=found[0].client_id,
        organisation=found[0].organisation_code,
        organisation_kind=found[1],
        scopes=granted,
        token_id=str(claims.get("jti", "")),
        actor=actor,
    )
    structlog.contextvars.bind_contextvars(
        organisation=principal.organisation, client_id=principal.client_id
    )
    return principal


Caller = Annotated[Principal, Security(authenticate)]


def require(*scopes: Scope) -> Any:
    """`Security` dependency for an endpoint that needs `scopes` (listed in the OpenAPI)."""
    return Security(authenticate, scopes=[s.value for s in scopes])
