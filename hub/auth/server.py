"""authlib's OAuth 2 authorisation server, adapted to the hub (authlib ships no FastAPI adapter).

The authlib core is synchronous; database work is done around it: the endpoint loads the
client first (`load_candidate`), runs the grant with that client preloaded, and afterwards
spends the assertion's `jti` in the replay store (see `hub.auth.router`).

Grant: client credentials (RFC 6749 §4.4). Client authentication: `client_secret_basic`
(RFC 6749 §2.3.1) and `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9), which authlib
calls `client_assertion_jwt`. Access tokens: JWTs per RFC 9068, signed RS256 by the hub.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2 import rfc6749
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwk

from hub.auth.models import Client

ASSERTION_METHOD = JWTBearerClientAssertion.CLIENT_AUTH_METHOD  # "client_assertion_jwt"
# The stored, RFC 7591 name of each method, seen from authlib's side.
_AUTHLIB_METHOD = {
    "private_key_jwt": ASSERTION_METHOD,
    "client_secret_basic": "client_secret_basic",
}


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class HubClient(ClientMixin):  # type: ignore[misc]
    """A `Client` row as authlib's `ClientMixin`."""

    def __init__(self, row: Client, organisation_kind: str) -> None:
        self.row = row
        self.organisation_kind = organisation_kind

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_allowed_scope(self, scope: str | None) -> str | None:
        allowed = self.row.scope_list
        if not scope:
            return " ".join(allowed)  # RFC 6749 §3.3: the registered default
        requested = scope.split()
        if not set(requested) <= set(allowed):
            return None  # authlib turns this into invalid_scope
        return " ".join(dict.fromkeys(requested))

    def check_client_secret(self, client_secret: str) -> bool:
        digest = self.row.secret_digest
        return digest is not None and hmac.compare_digest(digest, secret_digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and _AUTHLIB_METHOD[self.row.auth_method] == method

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An authlib request built from an already-parsed form body."""

    def __init__(self, uri: str, form: dict[str, str], headers: Mapping[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", ASSERTION_METHOD]  # noqa: RUF012


@dataclass
class SpentAssertion:
    """What the replay store must record once the grant has succeeded."""

    client_id: str
    jti: str
    expires_at: float


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client assertions, with the hub's extra limits.

    - `aud` must name this hub's token endpoint or issuer (RFC 7523 §3 item 3);
    - `iat` and `jti` are required; an assertion may live at most `max_age` seconds, so the
      replay store stays small and a leaked assertion dies quickly;
    - the `jti` is checked here against nothing: it is spent atomically in the database after
      the grant (`SpentAssertion`), which is what makes replays fail across processes.
    """

    def __init__(self, audiences: list[str], max_age: int, leeway: int) -> None:
        super().__init__(validate_jti=True, leeway=leeway)
        self._audiences = audiences
        self._max_age = max_age
        self.spent: SpentAssertion | None = None

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: HubClient) -> jwk.KeySet:
        if client.row.auth_method != "private_key_jwt" or not client.row.jwks:
            raise InvalidClientError(
                description="The client is not registered for private_key_jwt."
            )
        return jwk.KeySet.import_key_set(client.row.jwks)

    def verify_claims(self, claims: Any) -> None:
        super().verify_claims(claims)
        if "iat" not in claims:
            raise InvalidClientError(description="Missing claim: 'iat'")
        if float(claims["exp"]) - time.time() > self._max_age:
            raise InvalidClientError(
                description=f"The assertion must expire within {self._max_age} seconds."
            )

    def validate_jti(self, claims: Any, jti: Any) -> bool:
        if not isinstance(jti, str) or not 0 < len(jti) <= 255:
            return False
        self.spent = SpentAssertion(str(claims["sub"]), jti, float(claims["exp"]))
        return True


class AccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens: `typ: at+jwt`, RS256, `aud` = the hub's API, plus the caller's
    organisation (`org`, `org_kind`) so every request knows on whose behalf it acts."""

    def __init__(self, issuer: str, audience: str, ttl: int, signing_key: jwk.RSAKey) -> None:
        super().__init__(issuer=issuer, alg="RS256", expires_generator=ttl)
        self._audience = audience
        self._signing_key = signing_key

    def get_jwks(self) -> jwk.KeySet:
        return jwk.KeySet([self._signing_key])

    def get_audiences(self, client: HubClient, user: Any, scope: str) -> str:
        return self._audience

    def get_extra_claims(
        self, client: HubClient, grant_type: str, user: Any, scope: str
    ) -> dict[str, str]:
        return {"org": client.row.organisation_code, "org_kind": client.organisation_kind}


@dataclass
class TokenResult:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]
    spent: SpentAssertion | None = field(default=None)
    client_id: str | None = field(default=None)


class HubAuthorizationServer(rfc6749.AuthorizationServer):  # type: ignore[misc]
    """One instance per token request: the client is preloaded, so `query_client` needs no I/O."""

    def __init__(
        self,
        *,
        client: HubClient | None,
        tokens: AccessTokens,
        assertion: PrivateKeyJWT,
        scopes_supported: list[str],
    ) -> None:
        super().__init__(scopes_supported=scopes_supported)
        self._client = client
        self.register_grant(ClientCredentialsGrant)
        self.register_token_generator("default", tokens)
        self.register_client_auth_method(ASSERTION_METHOD, assertion)

    def query_client(self, client_id: str) -> HubClient | None:
        if self._client is not None and self._client.get_client_id() == client_id:
            return self._client
        return None

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request  # the endpoint hands over an already-built request

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """JWT access tokens are self-contained: nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal system here; issuance is logged by the endpoint."""

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> TokenResult:
        return TokenResult(status, body, list(headers))
