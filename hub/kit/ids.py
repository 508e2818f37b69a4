"""Identifiers the hub mints: opaque, random, and safe to show in URLs and logs."""

from __future__ import annotations

import secrets
import uuid


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def new_token_id(prefix: str, nbytes: int = 16) -> str:
    """A prefixed random id such as `req_…` or `cl_…` (the prefix tells a reader what it is)."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"
