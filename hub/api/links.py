"""OpenAPI links (OpenAPI 3.1 §4.8.20): how a created resource's id feeds the operations on it.

Declared on the creating operation's success response, so a client generator, a reader of the
document, and the contract tests' stateful run (tests/contract) can follow POST → GET/DELETE
with the real id instead of guessing one. Targets are named by operationId; the OpenAPI test
checks that each one exists.
"""

from __future__ import annotations

from typing import Any

BODY_ID = "$response.body#/id"
"""The created resource's `id` in the response body."""


def created(status: int, description: str, **targets: tuple[str, str, str]) -> dict[int, Any]:
    """A `responses` entry for `status` whose links are `Name=(operationId, parameter,
    runtime expression)`, e.g. `ReadConsent=("read_consent…", "consent_id",
    "$response.body#/id")`."""
    return {
        status: {
            "description": description,
            "links": {
                name: {"operationId": operation, "parameters": {parameter: expression}}
                for name, (operation, parameter, expression) in targets.items()
            },
        }
    }
