"""Identifiers the hub mints: opaque, random, and safe to show in URLs and logs."""

from __future__ import annotations

import os
import secrets
import uuid

from asyncpg.pgproto.pgproto import UUID


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def new_token_id(prefix: str, nbytes: int = 16) -> str:
    """A prefixed random id such as `req_…` or `cl_…` (the prefix tells a reader what it is)."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


# Version and variant bits of RFC 9562 §5.4, applied to every id's bytes at once.
_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


def new_uuids(count: int) -> list[uuid.UUID]:
    """`count` random (version 4) UUIDs from one call to the system's random source.

    Bulk ingestion mints hundreds of thousands of ids; one `os.urandom` per id is a system call
    each, which costs more than the rest of minting them. The ids are asyncpg's C
    implementation of `uuid.UUID` (a subclass, so every driver takes them), about seven times
    cheaper to build than the standard class.
    """
    pool = bytearray(os.urandom(16 * count))
    pool[6::16] = pool[6::16].translate(_VERSION_4)
    pool[8::16] = pool[8::16].translate(_VARIANT)
    return [UUID(bytes(pool[i : i + 16])) for i in range(0, 16 * count, 16)]
