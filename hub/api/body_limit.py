"""Request size limits (issue 9): a body larger than allowed is refused with 413 problem+json
before the hub reads or stores more of it.

Two limits: uploads of native files (`POST /v1/ingest/{source}`, streamed to a spooled
temporary file by the multipart parser) may be large, every other body is small JSON. A
declared `Content-Length` over the limit is refused at once; a body sent without one (chunked)
is counted as it arrives and refused as soon as it passes the limit, so a client cannot fill
the disk by leaving the length out.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.problems import problem

UPLOADS = "/v1/ingest/"


def _too_large(limit: int) -> str:
    return f"The request body is larger than the {limit:,} bytes this endpoint accepts."


class BodyLimit:
    """ASGI middleware enforcing `default` bytes per request body, `uploads` for file uploads."""

    def __init__(self, app: ASGIApp, *, default: int, uploads: int) -> None:
        self.app, self.default, self.uploads = app, default, uploads

    def limit_for(self, path: str) -> int:
        return self.uploads if path.startswith(UPLOADS) else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = problem(
                Request(scope), 413, "payload-too-large", "Payload too large", _too_large(limit)
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside body parsing, where FastAPI re-raises HTTP exceptions and
                    # the problem handler renders them (hub.api.problems).
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
