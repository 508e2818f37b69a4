"""Every error is RFC 9457 problem+json with a stable type: 404, 405, validation, 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from hub.database import Database
from hub.main import create_app
from hub.settings import Settings
from tests.factories import bearer, new_client


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:hub:problem:{slug}"
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_path_is_404(api: httpx.AsyncClient) -> None:
    body = assert_problem(await api.get("/v1/nothing-here"), 404, "not-found")
    assert body["instance"] == "/v1/nothing-here"


async def test_wrong_method_is_405_with_allow(api: httpx.AsyncClient) -> None:
    response = await api.delete("/healthz")
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


async def test_unknown_programme_is_404(api: httpx.AsyncClient, db: Database) -> None:
    headers = await bearer(api, await new_client(db))
    body = assert_problem(
        await api.get("/v1/programmes/MOHW-NOPE", headers=headers), 404, "not-found"
    )
    assert "MOHW-NOPE" in body["detail"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/programmes/lower-case", "path.code"),
        ("/v1/programmes?ministry=not valid", "query.ministry"),
        ("/v1/programmes?category=BAD!", "query.category"),
    ],
)
async def test_validation_errors_name_the_field(
    api: httpx.AsyncClient, db: Database, path: str, field: str
) -> None:
    headers = await bearer(api, await new_client(db))
    body = assert_problem(await api.get(path, headers=headers), 422, "invalid-input")
    assert [e["field"] for e in body["errors"]] == [field]


async def test_request_id_is_echoed_when_well_formed(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz", headers={"X-Request-Id": "abcdef12-3456"})
    assert response.headers["x-request-id"] == "abcdef12-3456"
    response = await api.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert response.headers["x-request-id"].startswith("req_")


async def test_unexpected_error_is_a_bare_500(settings: Settings) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail 900101-1234567")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://hub.test") as c,
    ):
        response = await c.get("/boom")
    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text
    assert "900101" not in response.text
    assert body["detail"].startswith("The hub could not complete the request")
