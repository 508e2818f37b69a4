"""What the contract test found, pinned as plain tests: each answer is a 4xx problem that
names the field, never a 400 the OpenAPI document does not declare or a 200 for bad input."""

from __future__ import annotations

import httpx
import pytest

from hub.database import Database
from hub.vault import KeySet
from tests.consents.test_consents_api import consent_body, known_person
from tests.consents.test_consents_api import headers as consent_writer
from tests.factories import bearer, new_client

PROBLEM = "application/problem+json"


def assert_names(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:hub:problem:invalid-input"
    assert [error["field"] for error in body["errors"]] == [field]


async def test_a_body_that_is_not_utf8_json_is_422_naming_the_body(
    api: httpx.AsyncClient, db: Database
) -> None:
    headers = await bearer(api, await new_client(db, scopes="consents:write"))
    response = await api.post(
        "/v1/consents/search",
        content=b'{"subject": {"rrn": "\xff\xfe"}}',
        headers=headers | {"Content-Type": "application/json"},
    )
    assert_names(response, "body")
    assert "\\xff" not in response.text


async def test_a_broken_multipart_upload_is_422_naming_the_body(
    api: httpx.AsyncClient, db: Database
) -> None:
    headers = await bearer(api, await new_client(db, kind="registry", scopes="records:write"))
    response = await api.post(
        "/v1/ingest/mois-registry",
        content=b"--xyz\r\n[{}]--xyz--\r\n",
        headers=headers | {"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert_names(response, "body")


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-01-31", "2026-01-31T09:00"])
async def test_audit_time_filters_take_only_rfc3339_text(
    api: httpx.AsyncClient, db: Database, value: str
) -> None:
    headers = await bearer(api, await new_client(db, kind="auditor", scopes="audit:read"))
    response = await api.get("/v1/audit/disclosures", params={"until": value}, headers=headers)
    assert_names(response, "query.until")


async def test_audit_time_filters_still_take_rfc3339_text(
    api: httpx.AsyncClient, db: Database
) -> None:
    headers = await bearer(api, await new_client(db, kind="auditor", scopes="audit:read"))
    params = {"from": "2026-01-31T09:00:00+09:00", "until": "2026-02-01T00:00:00.5Z"}
    response = await api.get("/v1/audit/disclosures", params=params, headers=headers)
    assert response.status_code == 200, response.text


async def test_a_consent_given_at_as_a_number_is_422_naming_it(
    api: httpx.AsyncClient, db: Database
) -> None:
    headers = await bearer(api, await new_client(db, scopes="consents:write"))
    response = await api.post(
        "/v1/consents/cns_0123456789abcdefXYZ/withdraw",
        json={"reason": "moved away", "withdrawn_at": 1700000000},
        headers=headers,
    )
    assert_names(response, "body.withdrawn_at")


async def test_a_nul_character_in_a_json_body_is_422_and_nothing_changes(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    """PostgreSQL cannot store U+0000 in text: this was a 500 there (and stored on SQLite)."""
    rrn = await known_person(db, keys)
    controller = await consent_writer(api, db, "JEJU-ARA")
    created = await api.post("/v1/consents", headers=controller, json=consent_body(rrn))
    consent_id = created.json()["id"]

    refused = await api.post(
        f"/v1/consents/{consent_id}/withdraw", headers=controller, json={"reason": "a\u0000b"}
    )
    assert_names(refused, "body")
    assert "NUL" in refused.json()["errors"][0]["reason"]
    current = await api.get(f"/v1/consents/{consent_id}", headers=controller)
    assert current.json()["state"] == "active"

    # A backslash before "u0000" is text, not an escape: accepted and kept as written.
    kept = await api.post(
        f"/v1/consents/{consent_id}/withdraw",
        headers=controller | {"Content-Type": "application/json"},
        content=b'{"reason": "C:\\\\u0000 folder"}',
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["withdrawal_reason"] == "C:\\u0000 folder"
