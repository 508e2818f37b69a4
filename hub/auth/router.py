"""The token endpoint (RFC 6749 §3.2) and the discovery documents (RFC 8414, RFC 7517).

Status codes follow RFC 6749 §5.2: a failed HTTP Basic authentication is 401 with a
`WWW-Authenticate` challenge; a failed client assertion and every other token error is 400.

Token errors keep the OAuth members `error` and `error_description` (RFC 6749 §5.2) inside an
RFC 9457 problem document, so OAuth clients and problem-aware clients both understand them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import structlog
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from joserfc import jwk, jws
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Headers

from hub.auth import repository
from hub.auth.dependencies import DbSession
from hub.auth.scopes import ALL_SCOPES
from hub.auth.server import (
    AccessTokens,
    FormRequest,
    HubAuthorizationServer,
    HubClient,
    PrivateKeyJWT,
    TokenResult,
)
from hub.kit.clock import utcnow
from hub.kit.errors import problem_type
from hub.settings import Settings
from hub.vault.keyset import KeySet

log = structlog.get_logger("hub.auth")
router = APIRouter(tags=["auth"])

_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_in: int
    scope: str


def _token_form_schema() -> dict[str, Any]:
    fields = ["grant_type", "scope", "client_assertion_type", "client_assertion"]
    return {
        "requestBody": {
            "required": True,
            "content": {
                _FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {f: {"type": "string"} for f in fields},
                    }
                }
            },
        }
    }


def _oauth_problem(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "type": problem_type(f"oauth-{error.replace('_', '-')}"),
        "title": error.replace("_", " ").capitalize(),
        "status": status,
        "detail": description,
        "error": error,
        "error_description": description,
    }
    extra = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    return JSONResponse(
        body, status_code=status, headers=_NO_STORE | extra, media_type="application/problem+json"
    )


async def _read_form(request: Request) -> dict[str, str] | JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM:
        return _oauth_problem(400, "invalid_request", f"The body must be {_FORM}.")
    items = (await request.form()).multi_items()
    names = [name for name, _ in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:  # RFC 6749 §3.2: parameters MUST NOT be included more than once
        return _oauth_problem(400, "invalid_request", f"Repeated parameter: {', '.join(repeated)}")
    return {name: str(value) for name, value in items}


def _candidate_client_id(form: dict[str, str], headers: Headers) -> str | None:
    """Which client the request claims to be, before any verification (used only to load it)."""
    if headers.get("authorization", "").lower().startswith("basic"):
        try:
            client_id, _ = extract_basic_authorization(headers)
        except ValueError:  # not UTF-8
            return None
        return client_id or None
    if form.get("client_assertion_type") == _ASSERTION_TYPE and form.get("client_assertion"):
        try:
            payload = json.loads(jws.extract_compact(form["client_assertion"].encode()).payload)
        except Exception:  # malformed assertions are rejected by authlib with a clear error
            return None
        sub = payload.get("sub") if isinstance(payload, dict) else None
        return sub if isinstance(sub, str) else None
    return form.get("client_id")


def _signing_key(keyset: KeySet) -> jwk.RSAKey:
    signing = keyset.token_signing_private_key()
    return jwk.RSAKey.import_key(
        signing.private_key, {"kid": signing.kid, "use": "sig", "alg": "RS256"}
    )


async def _issue(request: Request, session: DbSession, form: dict[str, str]) -> TokenResult:
    settings: Settings = request.app.state.settings
    headers = request.headers
    client_id = _candidate_client_id(form, headers)
    found = await repository.client_with_kind(session, client_id) if client_id else None
    client = HubClient(*found) if found and found[0].enabled else None
    assertion = PrivateKeyJWT(
        [settings.token_endpoint, settings.issuer],
        settings.assertion_max_age,
        settings.clock_leeway,
    )
    server = HubAuthorizationServer(
        client=client,
        tokens=AccessTokens(
            settings.issuer,
            settings.resource_audience,
            settings.access_token_ttl,
            _signing_key(request.app.state.keyring.current()),
        ),
        assertion=assertion,
        scopes_supported=list(ALL_SCOPES),
    )
    result: TokenResult = server.create_token_response(
        FormRequest(settings.token_endpoint, form, headers)
    )
    result.spent = assertion.spent
    result.client_id = client.get_client_id() if client else None
    return result


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="Issue an access token (OAuth 2 client credentials).",
    openapi_extra=_token_form_schema(),
    responses={400: {"description": "OAuth error"}, 401: {"description": "Client not valid"}},
)
async def token(request: Request, session: DbSession) -> JSONResponse:
    """Issue an access token (OAuth 2 client credentials)."""
    form = await _read_form(request)
    if isinstance(form, JSONResponse):
        return form
    result = await _issue(request, session, form)
    if result.status != 200:
        body = result.body
        return _oauth_problem(
            result.status,
            str(body.get("error", "invalid_request")),
            str(body.get("error_description", "The token request was refused.")),
            dict(result.headers),
        )
    if result.spent is not None:
        now = utcnow()
        expires = dt.datetime.fromtimestamp(result.spent.expires_at, dt.UTC)
        try:
            async with session.begin_nested():
                await repository.spend_assertion(
                    session, result.spent.client_id, result.spent.jti, expires
                )
        except IntegrityError:
            log.warning("token.assertion_replayed", client_id=result.spent.client_id)
            # 400, as authlib answers every other assertion failure (RFC 6749 §5.2).
            return _oauth_problem(400, "invalid_client", "The assertion jti was already used.")
        await repository.forget_expired_assertions(session, now - dt.timedelta(minutes=5))
    log.info("token.issued", client_id=result.client_id, scope=result.body.get("scope"))
    return JSONResponse(result.body, headers=_NO_STORE)


@router.get("/.well-known/oauth-authorization-server", summary="Authorisation server metadata.")
async def metadata(request: Request) -> dict[str, Any]:
    """Authorisation server metadata (RFC 8414)."""
    settings: Settings = request.app.state.settings
    return {
        "issuer": settings.issuer,
        "token_endpoint": settings.token_endpoint,
        "jwks_uri": f"{settings.public_url}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "scopes_supported": list(ALL_SCOPES),
        "service_documentation": f"{settings.public_url}/docs",
    }


@router.get("/.well-known/jwks.json", summary="The hub's public signing keys.")
async def jwks(request: Request) -> dict[str, Any]:
    """The hub's public signing keys (RFC 7517 JWK Set)."""
    keyset: KeySet = request.app.state.keyring.current()
    return keyset.public_jwks()
