"""The scopes of the hub's API (DESIGN.md, public contract). Deny by default: an endpoint
that declares none is reachable by no token."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    RECORDS_WRITE = "records:write"
    EVENTS_WRITE = "events:write"
    ELIGIBILITY_VERIFY = "eligibility:verify"
    BENEFITS_READ = "benefits:read"
    DUPLICATES_CHECK = "duplicates:check"
    ALERTS_SUBSCRIBE = "alerts:subscribe"
    CONSENTS_WRITE = "consents:write"
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    AUDIT_READ = "audit:read"
    SUBJECTS_REPORT = "subjects:report"
    ADMIN = "admin"


ALL_SCOPES: tuple[str, ...] = tuple(s.value for s in Scope)


def parse_scopes(text: str) -> tuple[str, ...]:
    """Split a space-separated scope string (RFC 6749 §3.3), rejecting unknown scopes."""
    scopes = tuple(dict.fromkeys(text.split()))
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}")
    return scopes


# What an organisation of each kind gets when an operator registers a client without naming
# scopes: the least its role needs (deny by default; `admin` is never a default).
# `subjects:report` lets the bodies that take a person's PIPA §35 access request (local
# governments, public agencies) show that person their disclosure history.
DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "ministry": (
        "records:write",
        "eligibility:verify",
        "benefits:read",
        "duplicates:check",
        "alerts:subscribe",
    ),
    "public_agency": (
        "records:write",
        "eligibility:verify",
        "benefits:read",
        "duplicates:check",
        "alerts:subscribe",
        "subjects:report",
    ),
    "registry": ("events:write", "records:write"),
    "local_government": (
        "eligibility:verify",
        "benefits:read",
        "duplicates:check",
        "alerts:subscribe",
        "consents:write",
        "cases:read",
        "cases:write",
        "subjects:report",
    ),
    "welfare_centre": (
        "records:write",
        "alerts:subscribe",
        "consents:write",
        "cases:read",
        "cases:write",
    ),
    "auditor": ("audit:read",),
}
