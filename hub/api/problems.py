"""RFC 9457 problem details for every error: domain errors, validation errors, 404/405 and
anything unexpected (a 500 that names only the request id, never the cause's data)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from hub.api.nul_text import NulInBody
from hub.kit.errors import HubError, problem_type

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("hub.api")

_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


class FieldError(BaseModel):
    field: str = Field(description="Where: e.g. body.subject.rrn, query.limit, row 12.")
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:hub:problem:not-found"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries declaring problem+json for the given statuses."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Problem"}
        for status in statuses
    }


def problem(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _hub_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubError)
    return problem(
        request,
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        headers=exc.headers,
        errors=exc.errors,
        **exc.extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only where and why: pydantic's `input` may hold personal data (an RRN) and is dropped.
    errors = [{"field": _location(e["loc"]), "reason": e["msg"]} for e in exc.errors()]
    return problem(
        request,
        422,
        "invalid-input",
        "The request content is not valid",
        f"{len(errors)} problem(s) in the request; see errors.",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, NulInBody):
        return _unreadable_body(request, exc.__cause__.reason)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        return _unreadable_body(request, "not readable as JSON text in UTF-8")
    if exc.status_code == 400 and isinstance(exc.__context__, MultiPartException):
        return _unreadable_body(request, f"not readable as multipart/form-data: {exc.detail}")
    slug = _HTTP_SLUGS.get(exc.status_code, "http-error")
    title = slug.replace("-", " ").capitalize()
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(request, exc.status_code, slug, title, detail, headers=exc.headers)


def _unreadable_body(request: Request, reason: str) -> JSONResponse:
    """FastAPI answers a 400 when a JSON body is not UTF-8 text (or nests too deep to read) and
    Starlette when a multipart body is broken, but a 422 when JSON syntax is wrong: one answer
    for all of them, naming the body (the reasons are the parsers' own, never the input)."""
    return problem(
        request,
        422,
        "invalid-input",
        "The request content is not valid",
        "The body could not be read; see errors.",
        errors=[{"field": "body", "reason": reason}],
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.failed", error_type=type(exc).__name__)
    request_id = getattr(request.state, "request_id", None)
    # This response leaves through Starlette's outermost error middleware, past RequestContext,
    # so it carries its request id header itself.
    return problem(
        request,
        500,
        "internal-error",
        "Internal error",
        "The hub could not complete the request; quote the request_id to the operators.",
        headers={"X-Request-Id": request_id} if request_id else None,
    )


def _with_edge_responses(app: FastAPI) -> Any:
    """`app.openapi`, plus the answers the edge of the hub may give to any operation: 429 to
    every authenticated one (the client's rate limit, hub.auth.ratelimit) and 413 to every one
    with a body (hub.api.body_limit). Declared here once rather than on each router."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answers = operation.setdefault("responses", {})
                edge = []
                if operation.get("security"):
                    edge.append(("429", "Too many requests for this client (rate limit)"))
                if "requestBody" in operation:
                    edge.append(("413", "The request body is too large"))
                for status, description in edge:
                    answers.setdefault(
                        status,
                        {
                            "description": description,
                            "content": {PROBLEM_JSON: {"schema": problem_ref}},
                        },
                    )
        app.openapi_schema = schema
        return schema

    return openapi


def install(app: FastAPI) -> None:
    app.openapi = _with_edge_responses(app)  # type: ignore[method-assign]
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
