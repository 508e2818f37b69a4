"""The consent registry over HTTP, on both databases: record with a receipt anyone can verify
(PyJWT against the published JWKS), idempotent creation, visibility to the consent's parties
only, withdrawal with its event, and every showing in the disclosure log."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import httpx
import jwt
import pytest
from sqlalchemy import select

from audit.models import DisclosureEntry
from hub.database import Database
from hub.events.models import Event
from hub.kit.clock import utcnow
from hub.records.repository import NewPerson, add_person
from hub.vault import KeySet
from schemas.identifiers import parse_rrn
from tests.factories import bearer, new_client, new_rrn

FORM = hashlib.sha256(b"signed form").hexdigest()


async def known_person(db: Database, keys: KeySet) -> str:
    rrn = new_rrn()
    async with db.transaction() as session:
        await add_person(session, keys, NewPerson(parse_rrn(rrn), "김하나", region_code="50110"))
    return rrn


async def headers(api: httpx.AsyncClient, db: Database, organisation: str) -> dict[str, str]:
    return await bearer(
        api, await new_client(db, organisation=organisation, scopes="consents:write")
    )


def consent_body(rrn: str, **overrides: object) -> dict:
    given = utcnow() - dt.timedelta(hours=1)
    return {
        "subject": {"rrn": rrn},
        "recipients": ["WC-ARA"],
        "purposes": ["case.management"],
        "data_categories": ["case.record", "case.needs"],
        "collection_method": "written",
        "form_sha256": FORM,
        "given_at": given.isoformat(),
    } | overrides


async def test_a_recorded_consent_has_a_receipt_anyone_can_verify(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    rrn = await known_person(db, keys)
    created = await api.post(
        "/v1/consents", headers=await headers(api, db, "JEJU-ARA"), json=consent_body(rrn)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/v1/consents/{body['id']}"
    assert body["state"] == "active"
    assert body["controller"] == "JEJU-ARA"
    assert rrn not in created.text

    jwks = (await api.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(body["receipt"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        body["receipt"], jwt.PyJWK(key).key, algorithms=["RS256"], options={"verify_aud": False}
    )
    assert claims["version"] == "KI-CR-v1.1.0"
    assert claims["consentReceiptID"] == body["id"]
    assert claims["jurisdiction"] == "KR"
    assert claims["evidenceSha256"] == FORM
    assert claims["piiPrincipalId"] == body["subject_ref"]
    purposes = claims["services"][0]["purposes"]
    assert [p["purpose"] for p in purposes] == ["case.management"]
    assert purposes[0]["thirdPartyName"] == "WC-ARA"
    assert claims["sensitive"] is False
    tampered = body["receipt"][:-4] + ("AAAA" if not body["receipt"].endswith("AAAA") else "BBBB")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tampered, jwt.PyJWK(key).key, algorithms=["RS256"])


async def test_creation_is_idempotent_by_key(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    rrn = await known_person(db, keys)
    auth = await headers(api, db, "JEJU-ARA")
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = consent_body(rrn)
    first = await api.post("/v1/consents", headers=auth | key, json=body)
    again = await api.post("/v1/consents", headers=auth | key, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = await api.post(
        "/v1/consents", headers=auth | key, json=body | {"purposes": ["benefit.administration"]}
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    found = await api.post("/v1/consents/search", headers=auth, json={"subject": {"rrn": rrn}})
    assert found.json()["count"] == 1


async def test_only_the_consents_parties_see_it_and_each_showing_is_logged(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    rrn = await known_person(db, keys)
    controller = await headers(api, db, "JEJU-ARA")
    consent_id = (
        await api.post("/v1/consents", headers=controller, json=consent_body(rrn))
    ).json()["id"]
    recipient_client = await new_client(db, organisation="WC-ARA")
    recipient = await bearer(api, recipient_client)
    outsider = await bearer(api, await new_client(db, organisation="WC-NOWON"))

    seen = await api.get(f"/v1/consents/{consent_id}", headers=recipient)
    assert seen.status_code == 200
    assert (await api.get(f"/v1/consents/{consent_id}", headers=outsider)).status_code == 404
    search = await api.post("/v1/consents/search", headers=outsider, json={"subject": {"rrn": rrn}})
    assert search.json() == {"items": [], "count": 0}
    receipt = await api.get(f"/v1/consents/{consent_id}/receipt", headers=recipient)
    assert receipt.headers["content-type"].startswith("application/jose")

    async with db.transaction() as session:
        logged = list(
            await session.scalars(
                select(DisclosureEntry)
                .where(DisclosureEntry.client_id == recipient_client.client_id)
                .order_by(DisclosureEntry.id)
            )
        )
    assert [e.action for e in logged] == ["consent.read", "consent.receipt"]
    assert {e.basis for e in logged} == {f"consent:{consent_id}"}


async def test_withdrawal_is_immediate_once_only_by_the_controller_and_raises_an_event(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    rrn = await known_person(db, keys)
    controller = await headers(api, db, "JEJU-ARA")
    consent_id = (
        await api.post("/v1/consents", headers=controller, json=consent_body(rrn))
    ).json()["id"]
    recipient = await bearer(
        api, await new_client(db, organisation="WC-ARA", scopes="consents:write")
    )
    by_recipient = await api.post(
        f"/v1/consents/{consent_id}/withdraw", headers=recipient, json={"reason": "no"}
    )
    assert by_recipient.status_code == 404

    withdrawn = await api.post(
        f"/v1/consents/{consent_id}/withdraw",
        headers=controller,
        json={"reason": "the person asked at the centre"},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["state"] == "withdrawn"
    assert (await api.get(f"/v1/consents/{consent_id}", headers=recipient)).json()[
        "state"
    ] == "withdrawn"
    twice = await api.post(
        f"/v1/consents/{consent_id}/withdraw", headers=controller, json={"reason": "again"}
    )
    assert twice.status_code == 409
    async with db.transaction() as session:
        events = list(
            await session.scalars(select(Event).where(Event.source_event_id == consent_id))
        )
    assert [e.type for e in events] == ["consent.withdrawn"]
    assert events[0].details == {"consent_id": consent_id, "controller": "JEJU-ARA"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purposes": ["no.such_purpose"]}, "body.purposes[0]"),
        ({"data_categories": ["no.such"]}, "body.data_categories[0]"),
        ({"recipients": ["NOBODY"]}, "body.recipients[0]"),
        ({"valid_until": (utcnow() - dt.timedelta(days=2)).isoformat()}, "body.valid_until"),
        ({"valid_from": (utcnow() - dt.timedelta(days=3)).isoformat()}, "body"),
        ({"given_at": (utcnow() + dt.timedelta(days=1)).isoformat()}, "body.given_at"),
        ({"subject": {"rrn": "901301-1234567"}}, "body.subject.rrn"),
        ({"form_sha256": "not-a-hash"}, "body.form_sha256"),
    ],
)
async def test_bad_consents_are_refused_naming_the_field(
    api: httpx.AsyncClient, db: Database, keys: KeySet, overrides: dict, field: str
) -> None:
    rrn = await known_person(db, keys)
    response = await api.post(
        "/v1/consents",
        headers=await headers(api, db, "JEJU-ARA"),
        json=consent_body(rrn, **overrides),
    )
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f.startswith(field) for f in fields), fields
    assert rrn not in response.text


async def test_an_unknown_subject_cannot_be_given_a_consent(
    api: httpx.AsyncClient, db: Database
) -> None:
    response = await api.post(
        "/v1/consents", headers=await headers(api, db, "JEJU-ARA"), json=consent_body(new_rrn())
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body.subject", "reason": "not known to the hub"}
    ]
