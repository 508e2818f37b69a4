"""`Idempotency-Key` for a creating endpoint, in two calls: `earlier` before the work (the first
answer to replay, if any) and `remember` after it, in the same transaction as what it created
(hub.idempotency.service has the rules). Without the header both are no-ops."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import Principal
from hub.idempotency import service
from hub.idempotency.service import Replay


@dataclass(frozen=True)
class Once:
    client_id: str
    key: str | None
    operation: str
    request_sha256: str

    async def earlier(self, session: AsyncSession) -> Replay | None:
        if self.key is None:
            return None
        return await service.earlier(
            session,
            client_id=self.client_id,
            key=self.key,
            operation=self.operation,
            request_sha256=self.request_sha256,
        )

    async def remember(
        self, session: AsyncSession, *, status: int, body: dict[str, Any], now: dt.datetime
    ) -> None:
        if self.key is None:
            return
        await service.remember(
            session,
            client_id=self.client_id,
            key=self.key,
            operation=self.operation,
            request_sha256=self.request_sha256,
            status=status,
            body=body,
            now=now,
        )


async def once(request: Request, principal: Principal, key: str | None, operation: str) -> Once:
    return Once(principal.client_id, key, operation, service.fingerprint(await request.body()))
