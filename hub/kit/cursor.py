"""Opaque keyset cursors for lists ordered by (instant, id), newest first or oldest first.

A cursor names the last item a page showed; the next page starts after it. It is the
instant and the id, base64url-encoded, and only a cursor this module made decodes: anything
else (edited, truncated, from another list's format) is `InvalidCursor`, a ValueError, which
request validation turns into a 422 naming the field. It carries no personal data.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid


class InvalidCursor(ValueError):
    """A cursor that this API did not issue."""


def encode_cursor(at: dt.datetime, item_id: uuid.UUID) -> str:
    text = f"{at.astimezone(dt.UTC).isoformat()}|{item_id.hex}"
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The position a cursor names; `InvalidCursor` for anything `encode_cursor` did not make."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        at, _, hex_id = text.partition("|")
        instant, item_id = dt.datetime.fromisoformat(at), uuid.UUID(hex=hex_id)
    except (binascii.Error, ValueError):
        raise InvalidCursor("the cursor is not one this API issued") from None
    if instant.tzinfo is None or encode_cursor(instant, item_id) != cursor:
        raise InvalidCursor("the cursor is not one this API issued")
    return instant, item_id
