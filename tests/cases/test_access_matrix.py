"""The cross-organisation matrix (issue 8), generated from one table: every case endpoint called
by a non-participant, by a participant after the consent was withdrawn, and by a participant
asking for more than the consent covers gets a 403 or a 404 problem, never data, and each
refusal is one disclosure-log entry with decision deny."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hub.database import Database
from hub.vault import KeySet
from tests.cases.support import Org, consent, entries, open_case, org, person, withdraw

MENTAL = "case.sensitive.mental_health"


@dataclass(frozen=True)
class World:
    """A case led by a 동 team, co-managed by a centre, referred to a third body; an
    outsider that no consent names."""

    lead: Org
    centre: Org
    recipient: Org
    outsider: Org
    consent_id: str
    case_id: str
    number: str
    referral_id: str


async def build(api: httpx.AsyncClient, db: Database, keys: KeySet) -> World:
    lead, centre = await org(api, db, "local_government"), await org(api, db, "welfare_centre")
    recipient, outsider = await org(api, db, "welfare_centre"), await org(api, db, "welfare_centre")
    who = await person(db, keys)
    consent_id = await consent(
        api, lead, who, [lead.code, centre.code, recipient.code], ["case.record", "case.needs"]
    )
    case = await open_case(api, lead, who)
    shared = await api.post(
        f"/v1/cases/{case['id']}/shares",
        headers=lead.headers,
        json={"organisation": centre.code, "data_categories": ["case.record", "case.needs"]},
    )
    assert shared.status_code == 201, shared.text
    referred = await api.post(
        f"/v1/cases/{case['id']}/referrals",
        headers=lead.headers,
        json={"organisation": recipient.code, "service": "밑반찬 배달"},
    )
    assert referred.status_code == 201, referred.text
    return World(
        lead,
        centre,
        recipient,
        outsider,
        consent_id,
        case["id"],
        case["number"],
        referred.json()["id"],
    )


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None


Endpoint = Callable[[World, bool], Call]
"""The call to make; `outside` asks for more than the consent covers."""


def read(w: World, outside: bool) -> Call:
    return Call(
        "GET", f"/v1/cases/{w.case_id}", params={"categories": [MENTAL]} if outside else None
    )


def change(w: World, outside: bool) -> Call:
    note = {"text": "상담 기록"} | ({"category": MENTAL} if outside else {})
    return Call("PATCH", f"/v1/cases/{w.case_id}", json={"notes": [note]})


def pack(w: World, outside: bool) -> Call:
    params = {"categories": ["case.record", MENTAL]} if outside else None
    return Call("GET", f"/v1/cases/{w.case_id}/conference-pack", params=params)


def share(w: World, outside: bool) -> Call:
    categories = [MENTAL] if outside else ["case.record"]
    body = {"organisation": w.recipient.code, "data_categories": categories}
    return Call("POST", f"/v1/cases/{w.case_id}/shares", json=body)


def refer(w: World, outside: bool) -> Call:
    to = w.outsider.code if outside else w.recipient.code  # the consent does not name it
    return Call(
        "POST", f"/v1/cases/{w.case_id}/referrals", json={"organisation": to, "service": "x"}
    )


def answer(w: World, outside: bool) -> Call:
    return Call(
        "PATCH", f"/v1/cases/{w.case_id}/referrals/{w.referral_id}", json={"status": "completed"}
    )


# endpoint, its participant, and the participant for the "outside the consent" case
ENDPOINTS: dict[str, tuple[Endpoint, str, str]] = {
    "read": (read, "centre", "lead"),
    "change": (change, "centre", "lead"),
    "conference-pack": (pack, "centre", "lead"),
    "share": (share, "lead", "lead"),
    "refer": (refer, "centre", "lead"),
    "answer-referral": (answer, "recipient", "centre"),  # a co-manager is not the receiver
}
CALLERS = ("non-participant", "after-withdrawal", "outside-consent")


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_no_case_data_reaches_a_caller_without_participation_and_consent(
    api: httpx.AsyncClient, db: Database, keys: KeySet, endpoint: str, caller: str
) -> None:
    world = await build(api, db, keys)
    make, participant, outside_participant = ENDPOINTS[endpoint]
    if caller == "non-participant":
        who: Org = world.outsider
    elif caller == "after-withdrawal":
        await withdraw(api, world.lead, world.consent_id)
        who = getattr(world, participant)
    else:
        who = getattr(world, outside_participant)
    call = make(world, caller == "outside-consent")
    before = len(await entries(db, who.client_id, "deny"))

    response = await api.request(
        call.method, call.path, headers=who.headers, json=call.json, params=call.params
    )

    assert response.status_code in (403, 404), response.text
    if caller == "non-participant":
        assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) <= {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
        "denial",
        "refused",
    }
    assert world.number not in response.text
    denied = await entries(db, who.client_id, "deny")
    assert len(denied) == before + 1
    assert denied[-1].purpose == "case.management"
    assert denied[-1].fields is None or list(denied[-1].fields) == []
