"""Identifiers the hub mints: opaque, random, and safe to show in URLs and logs."""

from __future__ import annotations

import os
import secrets
import uuid


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def new_token_id(prefix: str, nbytes: int = 16) -> str:
    """A prefixed random id such as `req_…` or `cl_…` (the prefix tells a reader what it is)."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def new_uuids(count: int) -> list[uuid.UUID]:
    """`count` random (version 4) UUIDs from one call to the system's random source.

    Bulk ingestion mints hundreds of thousands of ids; one `os.urandom` per id is a system call
    each, which costs more than the rest of minting them.
    """
    pool = os.urandom(16 * count)
    return [uuid.UUID(bytes=pool[i : i + 16], version=4) for i in range(0, 16 * count, 16)]
