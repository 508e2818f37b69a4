"""The committed OpenAPI document is the contract: a test fails when it is stale."""

from __future__ import annotations

import json
from pathlib import Path

from hub.commands.serve import render_openapi

COMMITTED = Path(__file__).parent.parent / "openapi" / "hub.v1.json"


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.exists(), "run `hub openapi` and commit openapi/hub.v1.json"
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(), (
        "openapi/hub.v1.json is stale: run `hub openapi` and commit it"
    )


def test_every_operation_declares_security_or_is_public() -> None:
    document = json.loads(render_openapi())
    public = {
        "/healthz",
        "/readyz",
        "/metrics",
        "/oauth/token",
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in public:
                continue
            assert operation.get("security"), f"{method.upper()} {path} declares no security"


def test_errors_are_documented_as_problem_json() -> None:
    document = json.loads(render_openapi())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/oauth/token":
                    assert "application/problem+json" in response.get("content", {}), (
                        f"{method.upper()} {path} {status} is not problem+json"
                    )


def test_links_name_operations_and_parameters_that_exist() -> None:
    """Each declared link (hub.api.links) targets a real operation and one of its parameters,
    and the operations that create a resource declare where its id goes."""
    document = json.loads(render_openapi())
    operations = {
        op["operationId"]: op for path in document["paths"].values() for op in path.values()
    }
    linked = set()
    for operation in operations.values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", [])}
                assert set(link["parameters"]) <= names, link
                linked.add(operation["operationId"])
    assert {
        "create_consent_v1_consents_post",
        "create_subscription_v1_subscriptions_post",
        "ingest_v1_ingest__source__post",
    } <= linked
