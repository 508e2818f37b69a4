"""Domain errors with an HTTP status and a stable RFC 9457 problem `type`.

Services raise these; one handler in `hub.api.problems` renders them as
`application/problem+json`. Messages must never carry personal data (no RRN, no name): they
name the field, row or line and the reason only.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "urn:hub:problem:"


def problem_type(slug: str) -> str:
    """The stable `type` URI of a problem (a URN: it identifies, it is not fetched)."""
    return PROBLEM_BASE + slug


class HubError(Exception):
    """Base of every error the hub reports to a caller."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type(self) -> str:
        return problem_type(self.slug)


class InvalidInput(HubError):
    """The request is well-formed HTTP but its content breaks a rule (field, row or line)."""

    status = 422
    slug = "invalid-input"
    title = "The request content is not valid"


class BadRequest(HubError):
    status = 400
    slug = "bad-request"
    title = "The request is malformed"


class Unauthenticated(HubError):
    """No usable credentials (RFC 6750 §3: answered with a `WWW-Authenticate` challenge)."""

    status = 401
    slug = "unauthenticated"
    title = "Authentication is required"


class Forbidden(HubError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class InsufficientScope(Forbidden):
    slug = "insufficient-scope"
    title = "The access token lacks a required scope"


class NotFound(HubError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Gone(HubError):
    """It existed and was removed on purpose (a log entry pruned under its retention rules)."""

    status = 410
    slug = "gone"
    title = "No longer available"


class Conflict(HubError):
    status = 409
    slug = "conflict"
    title = "The request conflicts with the current state"


class PayloadTooLarge(HubError):
    status = 413
    slug = "payload-too-large"
    title = "The request body is too large"


class ServiceUnavailable(HubError):
    status = 503
    slug = "unavailable"
    title = "A dependency of the hub is unavailable"
