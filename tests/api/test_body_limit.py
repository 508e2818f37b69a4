"""Request size limits (issue 9): bodies over the limit get 413 problem+json, whether their
length is declared or they arrive chunked, and an oversized upload applies nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from hub.database import Database
from hub.ingest.models import IngestBatch
from hub.main import create_app
from hub.settings import Settings
from tests.factories import asgi_client, bearer, new_client, new_rrn

LIMIT, UPLOAD_LIMIT = 4096, 16_384


@pytest.fixture
async def small_app(settings: Settings) -> AsyncIterator[FastAPI]:
    limited = settings.model_copy(
        update={"max_body_bytes": LIMIT, "max_upload_bytes": UPLOAD_LIMIT, "sequencer": False}
    )
    application = create_app(limited)
    async with application.router.lifespan_context(application):
        yield application


def _is_413(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:hub:problem:payload-too-large"
    assert f"{limit:,} bytes" in problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_a_json_body_over_the_limit_is_refused(small_app: FastAPI, db: Database) -> None:
    async with asgi_client(small_app) as api:
        headers = await bearer(api, await new_client(db, scopes="eligibility:verify"))
        body = {"subject": {"rrn": new_rrn()}, "programme": "X" * LIMIT, "attributes": []}
        _is_413(await api.post("/v1/eligibility/verify", headers=headers, json=body), LIMIT)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
            yield b'{"subject": {"rrn": "'
            for _ in range(LIMIT // 512 + 1):
                yield b"9" * 512
            yield b'"}}'

        chunked = await api.post(
            "/v1/eligibility/verify",
            headers=headers | {"content-type": "application/json"},
            content=chunks(),
        )
        assert "content-length" not in chunked.request.headers
        _is_413(chunked, LIMIT)

        # Below the limit the same endpoint answers as usual (an unknown programme: 4xx).
        small = {"subject": {"rrn": new_rrn()}, "programme": "NO-SUCH", "attributes": []}
        answered = await api.post("/v1/eligibility/verify", headers=headers, json=small)
        assert answered.status_code in (403, 404, 422)


async def test_an_upload_over_its_limit_applies_nothing(small_app: FastAPI, db: Database) -> None:
    async with asgi_client(small_app) as api:
        headers = await bearer(
            api, await new_client(db, scopes="records:write", organisation="MOHW")
        )
        async with db.transaction() as session:
            before = await session.scalar(select(func.count()).select_from(IngestBatch))
        big = b"x" * (UPLOAD_LIMIT + 1)
        response = await api.post(
            "/v1/ingest/mohw", headers=headers, files={"file": ("mohw.csv", big, "text/csv")}
        )
        _is_413(response, UPLOAD_LIMIT)
        async with db.transaction() as session:
            after = await session.scalar(select(func.count()).select_from(IngestBatch))
        assert after == before
        # The upload limit is larger than the JSON one: a file between them is read.
        middling = b"x" * (LIMIT * 2)
        read = await api.post(
            "/v1/ingest/mohw", headers=headers, files={"file": ("mohw.csv", middling, "text/csv")}
        )
        assert read.status_code == 422, read.text  # not a MOHW file, but not too large
