"""Request-scoped dependencies: the unit of work and the authenticated caller.

The session lives here, beside the guard that needs it, because only `hub.main`, `hub.api`
and `hub.auth` may import FastAPI (ARCHITECTURE.md). Routers declare what they need as
`Annotated` aliases: `DbSession`, `Caller`, and `Security(require, scopes=[...])`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from joserfc import jwk
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from hub.auth import repository
from hub.auth.scopes import Scope
from hub.kit.errors import InsufficientScope, InvalidInput, Unauthenticated
from hub.settings import Settings
from hub.vault import KeySet

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


def _unit_of_work(
    sessions: Callable[[Request], async_sessionmaker[AsyncSession]],
) -> Callable[[Request], AsyncIterator[AsyncSession]]:
    """A dependency that yields a session from `sessions`: committed when the endpoint
    returns, before the response is sent (`scope="function"`), rolled back on any error.
    (One generator, not a context manager inside one: this runs for every request.)"""

    async def dependency(request: Request) -> AsyncIterator[AsyncSession]:
        async with sessions(request)() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    return dependency


get_session = _unit_of_work(lambda request: request.app.state.db.sessions)
"""The request's one transaction."""

DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_statement_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """The unit of work of an endpoint whose writes are a single statement: the eligibility
    answer, whose log entry, queue row and facts are one data-modifying statement on PostgreSQL
    (audit.log.record_with). There the statement is its own transaction (atomic, and committed
    when it returns), so no BEGIN or COMMIT is sent, two of a verify's four round trips
    (benchmarks/RESULTS.md, "Eligibility"); its reads before it see committed data, as they
    would in a READ COMMITTED transaction. On SQLite, where the entry, its queue row and the
    facts are three statements, it is the request's transaction as usual.

    A bare connection, not a session: its statements are prebuilt Core, and creating, binding,
    committing and closing an ORM session around them was about a tenth of a verify's CPU.

    Never use it for an endpoint that writes twice: each write would commit on its own.
    `tests/eligibility/test_verify_fast_path.py` counts what a verify sends."""
    async with request.app.state.db.statement_engine.connect() as connection:
        try:
            yield connection
        except BaseException:
            await connection.rollback()
            raise
        else:
            await connection.commit()


StatementConnection = Annotated[
    AsyncConnection, Depends(get_statement_connection, scope="function")
]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the client, its organisation, the granted scopes and the staff actor."""

    client_id: str
    organisation: str
    organisation_kind: str
    scopes: frozenset[str]
    token_id: str
    actor: str | None


VALIDATED_TOKENS = 4096
"""Access tokens whose signature and fixed claims one validator remembers (hub.auth.dependencies
`_claims`); the oldest is forgotten first."""


class _Validator(JWTBearerTokenValidator):  # type: ignore[misc]
    """RFC 9068 §4 validation (iss, aud, exp, typ) against one key set's published keys.

    A client sends the same token with every request until it expires. Verifying its
    signature and parsing its claims again each time cost about a seventh of a verify's CPU
    in the hub process (benchmarks/RESULTS.md, "Eligibility"), and the outcome cannot change
    for the same bytes under the same keys: only the time claims can. So a token that passed
    is remembered, keyed by its SHA-256 (the validator lives as long as its key set, so a key
    rotation forgets everything), and on the next request only `exp`, `nbf` and `iat` are
    checked again. Whether the client is still enabled is checked on every request
    regardless (`authenticate`)."""

    def __init__(self, settings: Settings, keyset: KeySet) -> None:
        super().__init__(issuer=settings.issuer, resource_server=settings.resource_audience)
        self.keyset = keyset
        self._jwks = jwk.KeySet.import_key_set(keyset.public_jwks())
        self._validated: dict[bytes, dict[str, Any]] = {}

    def get_jwks(self) -> jwk.KeySet:
        return self._jwks

    def validated(self, digest: bytes, now: int, leeway: int) -> dict[str, Any] | None:
        """The claims of a token that passed before and whose times still hold, else None."""
        claims = self._validated.get(digest)
        if claims is None:
            return None
        if not _in_time(claims, now, leeway):
            del self._validated[digest]
            return None
        return claims

    def remember(self, digest: bytes, claims: dict[str, Any]) -> None:
        if len(self._validated) >= VALIDATED_TOKENS:
            del self._validated[next(iter(self._validated))]
        self._validated[digest] = claims


def _in_time(claims: dict[str, Any], now: int, leeway: int) -> bool:
    """RFC 7519 §4.1.4-4.1.6 as joserfc's registry (authlib's validation) applies them: not
    expired, not before its time, not issued in the future, each with `leeway` seconds."""
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    return (
        (exp is None or exp > now - leeway)
        and (nbf is None or nbf <= now + leeway)
        and (iat is None or iat <= now + leeway)
    )


def _validator(request: Request) -> _Validator:
    """The app's validator for the key set in force, built again only when the key set
    changes. Importing the JWKs for every request cost about 3% of a verify's CPU; keying
    the validator on the `KeySet` object that `KeyRing.current()` returns (a new object
    whenever `hub keys rotate` replaces the file) keeps rotation working with no restart."""
    state = request.app.state
    keyset = state.keyring.current()
    cached: _Validator | None = getattr(state, "bearer_validator", None)
    if cached is None or cached.keyset is not keyset:
        cached = _Validator(state.settings, keyset)
        state.bearer_validator = cached
    return cached


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
    validator = _validator(request)
    leeway = request.app.state.settings.clock_leeway
    digest = hashlib.sha256(token.encode("ascii")).digest()
    known = validator.validated(digest, int(time.time()), leeway)
    if known is not None:
        return dict(known)
    try:
        claims = validator.authenticate_token(token)
        claims.validate(leeway=leeway)
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
    validator.remember(digest, dict(claims))
    return dict(claims)


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """Validate the bearer token, re-check that its client is still enabled, then check scopes.

    Deny by default: the scopes an endpoint declares must all be granted to the token.

    The client's standing, when this process does not trust a recent answer, is read on a
    short connection of its own, not in the request's unit of work: a request then never holds
    two pooled connections at once (one for its guard, one for its work), which under load let
    requests wait on each other until the pool timed out.
    """
    claims = await _claims(request, _bearer_token(authorization))
    client_id = str(claims.get("client_id", ""))
    standing = await repository.client_standing(request.app.state.db.statement_engine, client_id)
    if standing is None or not standing[0] or standing[1] != claims.get("org"):
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
        client_id=client_id,
        organisation=standing[1],
        organisation_kind=standing[2],
        scopes=granted,
        token_id=str(claims.get("jti", "")),
        actor=actor,
    )
    structlog.contextvars.bind_contextvars(
        organisation=principal.organisation, client_id=principal.client_id
    )
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None and getattr(request.state, "rate_limit", None) is None:
        # Once per request, after the token and the client are known to be good (so an
        # attacker cannot spend another client's quota): 429 before the endpoint runs.
        request.state.rate_limit = await limiter.hit(client_id)
    return principal


Caller = Annotated[Principal, Security(authenticate)]


def require(*scopes: Scope) -> Any:
    """`Security` dependency for an endpoint that needs `scopes` (listed in the OpenAPI)."""
    return Security(authenticate, scopes=[s.value for s in scopes])
