"""Operations endpoints: liveness, readiness (database and keys), Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

import httpx

from hub.database import Database
from hub.main import create_app
from tests.conftest import make_settings


async def test_healthz(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_database_and_keys(api: httpx.AsyncClient) -> None:
    response = await api.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "keys": "ok"}}


async def test_readyz_is_503_without_keys(database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(database_url, tmp_path / "missing-keys.json"))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://hub.test") as c,
    ):
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["keys"].startswith("failed")


async def test_readyz_is_503_without_database(keys_file: Path) -> None:
    # A real PostgreSQL URL on a port where nothing listens: the ping genuinely fails.
    url = "postgresql+asyncpg://postgres@127.0.0.1:9/none"
    app = create_app(make_settings(url, keys_file))
    app.state.db = Database(url)  # no lifespan: it would (rightly) refuse to start
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://hub.test") as c:
        response = await c.get("/readyz")
    await app.state.db.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"].startswith("failed")
    assert body["checks"]["keys"] == "ok"


async def test_metrics_count_requests_by_route(api: httpx.AsyncClient) -> None:
    await api.get("/healthz")
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'hub_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text
    assert "hub_http_request_duration_seconds_bucket" in response.text
