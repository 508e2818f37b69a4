"""Rate limits per client (issue 9): every authenticated answer carries the IETF RateLimit
fields; over the quota the answer is 429 problem+json with Retry-After; one client's use does
not spend another's; several hub processes share a quota through Redis."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from hub.database import Database
from hub.main import create_app
from hub.settings import Settings
from tests.factories import asgi_client, bearer, new_client

ENDPOINT = "/v1/subscriptions"
REDIS = ("127.0.0.1", 6379)


@asynccontextmanager
async def limited(settings: Settings, policy: str, storage: str) -> AsyncIterator[FastAPI]:
    application = create_app(
        settings.model_copy(
            update={"rate_limit": policy, "rate_limit_storage": storage, "sequencer": False}
        )
    )
    async with application.router.lifespan_context(application):
        yield application


def remaining(response: httpx.Response) -> int:
    match = re.fullmatch(r'"default";r=(\d+);t=(\d+)', response.headers["ratelimit"])
    assert match is not None, response.headers["ratelimit"]
    assert 0 <= int(match.group(2)) <= 60
    return int(match.group(1))


async def test_a_client_over_its_quota_gets_429_and_others_do_not(
    settings: Settings, db: Database
) -> None:
    async with limited(settings, "3/minute", "async+memory://") as app, asgi_client(app) as api:
        first = await bearer(api, await new_client(db, scopes="alerts:subscribe"))
        second = await bearer(api, await new_client(db, scopes="alerts:subscribe"))
        answers = [await api.get(ENDPOINT, headers=first) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [remaining(a) for a in answers] == [2, 1, 0]
        assert {a.headers["ratelimit-policy"] for a in answers} == {'"default";q=3;w=60'}

        refused = await api.get(ENDPOINT, headers=first)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:hub:problem:rate-limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert remaining(refused) == 0

        other = await api.get(ENDPOINT, headers=second)
        assert (other.status_code, remaining(other)) == (200, 2)
        # Without a token there is no client to count: no quota fields, the usual 401.
        anonymous = await api.get(ENDPOINT)
        assert anonymous.status_code == 401
        assert "ratelimit" not in anonymous.headers
        public = await api.get("/v1/programmes")
        assert "ratelimit" not in public.headers


async def test_off_means_no_limit(settings: Settings, db: Database) -> None:
    async with limited(settings, "off", "async+memory://") as app, asgi_client(app) as api:
        headers = await bearer(api, await new_client(db, scopes="alerts:subscribe"))
        answers = [await api.get(ENDPOINT, headers=headers) for _ in range(5)]
        assert {a.status_code for a in answers} == {200}
        assert "ratelimit" not in answers[0].headers


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


async def test_two_hub_processes_share_a_quota_through_redis(
    settings: Settings, db: Database
) -> None:
    if not _redis_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    policy = "4/minute"
    storage = f"async+redis://{REDIS[0]}:{REDIS[1]}"
    async with (
        limited(settings, policy, storage) as one,
        limited(settings, policy, storage) as two,
        asgi_client(one) as api_one,
        asgi_client(two) as api_two,
    ):
        credentials = await new_client(db, scopes="alerts:subscribe")
        headers = await bearer(api_one, credentials)
        statuses = []
        for api in (api_one, api_two, api_one, api_two, api_one):
            statuses.append((await api.get(ENDPOINT, headers=headers)).status_code)
        assert statuses == [200, 200, 200, 200, 429]
