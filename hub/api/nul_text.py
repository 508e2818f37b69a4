"""Refusing NUL characters in JSON bodies, the same way on both databases (issue 9).

JSON may carry U+0000 as the escape `\\u0000`; PostgreSQL's text types cannot hold it and
fail the statement, which surfaced as a 500 on PostgreSQL, while SQLite would store it. No
field of the hub's API has a use for it, so a JSON body that holds one anywhere is refused
with the 422 an unreadable body gets (hub.api.problems) before the endpoint runs. Path and
query values already pass patterns that exclude it; uploaded source files are checked row by
row by the mapper (connectors.mapper).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# `\u0000` that is an escape: preceded by an even number of backslashes (`\\u0000` is a
# backslash followed by the text "u0000").
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
REASON = "holds a NUL character (U+0000), which the hub does not accept in text"


def holds_nul(body: bytes) -> bool:
    """Whether a JSON text holds U+0000 in any string (raw NUL bytes are not valid JSON)."""
    return b"\x00" in body or _ESCAPED_NUL.search(body) is not None


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class NulInBody(ValueError):
    """Raised while FastAPI reads the body; it answers 400 "error parsing the body" with this
    as the cause, which hub.api.problems renders as the 422 for an unreadable body."""

    reason = REASON


class RefuseNul:
    """ASGI middleware: watches a JSON request body as the app reads it (already capped by
    hub.api.body_limit) and fails the read at its end when the body holds a NUL character."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False) and holds_nul(b"".join(parts)):
                    raise NulInBody(REASON)
            return message

        await self.app(scope, watched, send)
