"""Adds a client's RateLimit header fields to every answer it gets (issue 9).

Authentication counts the request against the client's quota (hub.auth.ratelimit) and leaves
the result in the request's state; this middleware writes it into the response head, whatever
the endpoint returned (a model, a stream, a CSV, a problem). Unauthenticated answers carry no
quota: there is no client to count them against.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth.ratelimit import Quota

STATE_KEY = "rate_limit"


class QuotaHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = scope.get("state", {}).get(STATE_KEY)
                if isinstance(quota, Quota):
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [
                        (name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in quota.headers().items()
                        if name.lower().encode("latin-1") not in present
                    ]
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_quota)
