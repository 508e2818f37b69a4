"""Operations endpoints: liveness, readiness (database and keys) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from hub.api.problems import problem, problem_responses
from hub.vault.keyset import KeyPurpose

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses=problem_responses(503))
async def readyz(request: Request) -> Any:
    """Readiness: the database answers and the key set is readable."""
    checks: dict[str, str] = {}
    try:
        await request.app.state.db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the type says enough
        checks["database"] = f"failed: {type(exc).__name__}"
    try:
        keyset = request.app.state.keyring.current()
        for purpose in KeyPurpose:
            keyset.primary(purpose)
        checks["keys"] = "ok"
    except Exception as exc:
        checks["keys"] = f"failed: {type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return Readiness(status="ready", checks=checks)
    return problem(
        request, 503, "not-ready", "The hub is not ready", "A dependency failed.", checks=checks
    )


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
