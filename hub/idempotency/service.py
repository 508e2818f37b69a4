"""Replaying the first answer to a creating POST sent again with the same `Idempotency-Key`.

The first answer is stored in the same transaction as what it created, so either both exist or
neither does. The same key with the same body replays that answer; the same key with another
body (or for another operation) is a 422, as the IETF draft
(draft-ietf-httpapi-idempotency-key-header §2.7) and DESIGN.md require. Keys belong to the
client that sent them: another client's key is another key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.idempotency.models import IdempotentResponse
from hub.kit.errors import InvalidInput

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            errors=[{"field": "header.Idempotency-Key", "reason": "not a valid key"}],
        )


async def earlier(
    session: AsyncSession, *, client_id: str, key: str, operation: str, request_sha256: str
) -> Replay | None:
    """The stored answer for this key, or None if the key is new."""
    check_key(key)
    row = await session.get(IdempotentResponse, (client_id, key))
    if row is None:
        return None
    if row.operation != operation or row.request_sha256 != request_sha256:
        raise InvalidInput(
            "This Idempotency-Key was used with a different request.",
            errors=[{"field": "header.Idempotency-Key", "reason": "reused with another body"}],
        )
    return Replay(row.status, row.body)


async def remember(
    session: AsyncSession,
    *,
    client_id: str,
    key: str,
    operation: str,
    request_sha256: str,
    status: int,
    body: dict[str, Any],
    now: dt.datetime,
) -> None:
    session.add(
        IdempotentResponse(
            client_id=client_id,
            key=key,
            operation=operation,
            request_sha256=request_sha256,
            status=status,
            body=body,
            created_at=now,
        )
    )
    await session.flush()
