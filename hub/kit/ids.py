"""Identifiers the hub mints: opaque, random, and safe to show in URLs and logs."""

from __future__ import annotations

import os
import secrets
import time
import uuid

from asyncpg.pgproto.pgproto import UUID


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def new_token_id(prefix: str, nbytes: int = 16) -> str:
    """A prefixed random id such as `req_…` or `cl_…` (the prefix tells a reader what it is)."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


# Version and variant bits of RFC 9562 §5.4 and §5.7, applied to every id's bytes at once.
_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_VERSION_7 = bytes((b & 0x0F) | 0x70 for b in range(256))
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


def new_uuids(count: int) -> list[uuid.UUID]:
    """`count` time-ordered (version 7) UUIDs for rows written in bulk: the current Unix time in
    milliseconds, then 74 random bits from one call to the system's random source.

    Version 7 because these ids are primary keys of tables that grow by hundreds of thousands
    of rows a file (persons, enrolments, facts, deliveries). A random (version 4) key puts each
    insert on a random leaf of the key's index, and after every checkpoint each of those pages
    is written whole to the WAL once more; ids that rise with time append at the index's right
    edge. PostgreSQL's CPU per ingested row fell by about a quarter (benchmarks/RESULTS.md,
    issue 3). The time they carry is that of the write, which the rows hold anyway
    (`created_at`, `recorded_at`), and they stay inside the hub: callers see per-organisation
    pseudonyms (DESIGN.md). Ids that an organisation sees use `new_random_uuids`, so two
    organisations cannot line theirs up by the millisecond. The ids of one call share their
    millisecond and are random within it: the RFC's monotonic counter is not needed, since a
    call's ids are written together.

    One `os.urandom` per id would be a system call each, which costs more than the rest of
    minting them. The ids are asyncpg's C implementation of `uuid.UUID` (a subclass, so every
    driver takes them), about seven times cheaper to build than the standard class.
    """
    pool = bytearray(os.urandom(16 * count))
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    for offset, byte in enumerate(stamp):
        pool[offset::16] = bytes((byte,)) * count
    return _as_uuids(pool, _VERSION_7)


def as_bulk_uuid(value: uuid.UUID) -> uuid.UUID:
    """The same id as the class `new_uuids` makes, for a value written into every row of a
    bulk write (a file's batch id): the driver reads the standard class's bytes through a
    Python property each time, about a third of a microsecond a row."""
    return UUID(value.bytes)


def new_random_uuids(count: int) -> list[uuid.UUID]:
    """`count` random (version 4) UUIDs, for ids minted in bulk that leave the hub: an alert
    delivery's id is the CloudEvent `id` and the `webhook-id` its subscriber sees."""
    return _as_uuids(bytearray(os.urandom(16 * count)), _VERSION_4)


def _as_uuids(pool: bytearray, version: bytes) -> list[uuid.UUID]:
    pool[6::16] = pool[6::16].translate(version)
    pool[8::16] = pool[8::16].translate(_VARIANT)
    return [UUID(bytes(pool[i : i + 16])) for i in range(0, len(pool), 16)]
