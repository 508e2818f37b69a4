"""Subscriptions over HTTP: the secret shown once and stored sealed, organisation-only
visibility, idempotent creation, SSRF checks on webhook URLs, and the pull feed's positions."""

from __future__ import annotations

import asyncio
import base64
import ipaddress

import httpx
import pytest

from hub.alerts import signing, targets
from hub.database import Database
from hub.vault import DecryptionError, KeySet
from tests.alerts.support import (
    deliveries,
    enrol,
    event,
    organisation,
    person,
    report,
    subscribe,
    subscription_row,
)


async def test_a_webhook_secret_is_shown_once_and_stored_only_sealed(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    org = await organisation(api, db)
    created = await subscribe(api, org, ["person.died", "person.died"], "http://127.0.0.1:9/a")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert created["event_types"] == ["person.died"]
    assert created["delivery"] == {"mode": "webhook", "url": "http://127.0.0.1:9/a"}

    read = await api.get(f"/v1/subscriptions/{created['id']}", headers=org.headers)
    assert read.status_code == 200
    assert read.json()["secret"] is None
    assert read.json()["deliveries"] == {}
    listed = await api.get("/v1/subscriptions", headers=org.headers)
    assert [s["id"] for s in listed.json()["items"]] == [created["id"]]
    assert all(s["secret"] is None for s in listed.json()["items"])

    row = await subscription_row(db, created["id"])
    assert row.secret_sealed is not None
    assert secret.encode() not in row.secret_sealed
    assert signing.unseal(keys, row.id, row.secret_kid or "", row.secret_sealed) == secret
    with pytest.raises(DecryptionError):  # bound to its row: useless anywhere else
        signing.unseal(keys, "sub_another_row_00000000", row.secret_kid or "", row.secret_sealed)


async def test_only_the_organisation_sees_or_deletes_its_subscription(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, other = await organisation(api, db), await organisation(api, db)
    sub = await subscribe(api, owner, ["person.died"])
    assert sub["secret"] is None  # pull: nothing to sign
    for method in ("GET", "DELETE"):
        response = await api.request(
            method, f"/v1/subscriptions/{sub['id']}", headers=other.headers
        )
        assert response.status_code == 404
    feed = await api.get("/v1/alerts", params={"subscription": sub["id"]}, headers=other.headers)
    assert feed.status_code == 404
    no_scope = await organisation(api, db, scopes="eligibility:verify")
    refused = await api.get("/v1/subscriptions", headers=no_scope.headers)
    assert refused.status_code == 403

    assert (
        await api.delete(f"/v1/subscriptions/{sub['id']}", headers=owner.headers)
    ).status_code == 204
    gone = await api.get(f"/v1/subscriptions/{sub['id']}", headers=owner.headers)
    assert gone.status_code == 404


async def test_creation_with_an_idempotency_key_replays_the_answer_with_the_secret(
    api: httpx.AsyncClient, db: Database
) -> None:
    org = await organisation(api, db)
    body = {
        "event_types": ["person.died"],
        "delivery": {"mode": "webhook", "url": "http://127.0.0.1:9/b"},
    }
    headers = org.headers | {"Idempotency-Key": "create-sub-1"}
    first = await api.post("/v1/subscriptions", headers=headers, json=body)
    again = await api.post("/v1/subscriptions", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the client that lost the answer still gets its secret
    other_body = body | {"event_types": ["person.deregistered"]}
    assert (
        await api.post("/v1/subscriptions", headers=headers, json=other_body)
    ).status_code == 422


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://user:pw@127.0.0.1/x", "credentials"),
        ("ftp://127.0.0.1/x", "https"),
        ("http://224.0.0.1/x", "multicast"),
    ],
)
async def test_webhook_urls_that_could_reach_internal_services_are_refused(
    api: httpx.AsyncClient, db: Database, url: str, reason: str
) -> None:
    org = await organisation(api, db)
    response = await api.post(
        "/v1/subscriptions",
        headers=org.headers,
        json={"event_types": ["person.died"], "delivery": {"mode": "webhook", "url": url}},
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body.delivery.url"
    assert reason in error["reason"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "http://93.184.216.34/hook",
    ],
)
async def test_a_public_hub_refuses_loopback_private_and_plain_http_targets(url: str) -> None:
    with pytest.raises(targets.TargetRefused):
        await targets.check(url, allow_private=False)


async def test_a_private_network_hub_allows_private_targets_but_never_link_local() -> None:
    allowed = await targets.check("http://127.0.0.1:8080/hook", allow_private=True)
    assert allowed.address == "127.0.0.1"
    url, host, extensions = allowed.request
    assert url.host == "127.0.0.1"
    assert host == {"Host": "127.0.0.1:8080"}
    assert extensions == {}
    public = await targets.check("https://93.184.216.34/hook", allow_private=False)
    assert public.request[2] == {"sni_hostname": "93.184.216.34"}
    for address in ("169.254.169.254", "0.0.0.0", "240.0.0.1"):
        assert targets.refusal(ipaddress.ip_address(address), allow_private=True) is not None


async def test_the_pull_feed_has_gap_free_positions_and_reading_changes_nothing(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    ministry = await organisation(api, db)
    people = [await person(db, keys) for _ in range(12)]
    for who in people:
        await enrol(db, who, "MOEL-LEARNING-CARD", ministry.code)
    sub = await subscribe(api, ministry, ["person.died", "person.address_changed"])
    # Concurrent reports: positions are still handed out without gaps.
    await asyncio.gather(
        *(
            report(
                api,
                registry,
                event(who, "person.died"),
                event(who, "person.address_changed", new_region_code="11350"),
            )
            for who in people
        )
    )
    pages, after = [], 0
    while True:
        page = await api.get(
            "/v1/alerts",
            params={"subscription": sub["id"], "after": after, "limit": 5},
            headers=ministry.headers,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        if not body["items"]:
            break
        pages.append(body)
        after = body["next_after"]
    seqs = [item["seq"] for body in pages for item in body["items"]]
    assert seqs == list(range(1, 25))
    assert pages[-1]["last_seq"] == 24
    first = pages[0]["items"][0]["event"]
    assert first["specversion"] == "1.0"
    assert first["sequence"] == "1"
    assert first["type"].startswith("kr.welfarehub.person.")
    again = await api.get(
        "/v1/alerts", params={"subscription": sub["id"], "limit": 5}, headers=ministry.headers
    )
    assert again.json() == pages[0]
    assert {d.status for d in await deliveries(db, sub["id"])} == {"feed"}
