"""Registry events reach the cases of the person (issue 8, DOMAIN.md "Case consequences"): a
death closes the case of a one-person household and flags a larger household's cases for
reassessment; a move to another 시군구 flags the case for transfer. Reported over POST
/v1/events and in a registry file, on both databases (hub.cases.consequences)."""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from connectors.registry import load_mappings
from hub.database import Database
from hub.ingest.service import ingest_file
from hub.vault import KeySet
from tests.alerts.test_ingested_events import REGISTRY_FEED
from tests.cases.support import (
    TODAY,
    Org,
    Person,
    consent,
    entries,
    move,
    open_case,
    org,
    person,
    through_to,
)
from tests.factories import bearer, new_client

CASE = ["case.record", "case.needs"]


async def registry(api: httpx.AsyncClient, db: Database) -> dict[str, str]:
    credentials = await new_client(db, scopes="events:write", organisation="MOIS-RRS")
    return await bearer(api, credentials)


async def report(
    api: httpx.AsyncClient, headers: dict[str, str], who: Person, kind: str, **details: str
) -> None:
    response = await api.post(
        "/v1/events",
        headers=headers,
        json={
            "events": [
                {
                    "subject": {"rrn": who.rrn},
                    "type": kind,
                    "effective_date": TODAY.isoformat(),
                    "source_event_id": f"EV-{secrets.token_hex(8)}",
                    "reported_at": dt.datetime.now(dt.UTC).isoformat(),
                    "details": details,
                }
            ]
        },
    )
    assert response.status_code == 202, response.text


async def case_for(api: httpx.AsyncClient, lead: Org, who: Person) -> dict[str, Any]:
    """A case of `who` in service, led by `lead` under the person's consent."""
    await consent(api, lead, who, [lead.code], CASE)
    opened = await open_case(api, lead, who, TODAY - dt.timedelta(days=20))
    return await through_to(api, lead, opened["id"], "service", TODAY - dt.timedelta(days=20))


async def read(api: httpx.AsyncClient, lead: Org, case_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/cases/{case_id}", headers=lead.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_death_closes_the_case_of_a_one_person_household(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    lead = await org(api, db, "local_government")
    alone = await person(db, keys)
    case = await case_for(api, lead, alone)
    await report(api, await registry(api, db), alone, "person.died")

    closed = await read(api, lead, case["id"])
    assert (closed["stage"], closed["closure_code"], closed["attention"]) == (
        "closure",
        "death",
        None,
    )
    last = closed["history"][-1]
    assert (last["stage"], last["on"], last["organisation"]) == (
        "closure",
        TODAY.isoformat(),
        "MOIS-RRS",
    )
    assert closed["next_due"] is None  # no follow-up after a death


async def test_a_death_in_a_larger_household_flags_its_cases_for_reassessment(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    lead, centre = await org(api, db, "local_government"), await org(api, db, "welfare_centre")
    household = f"H-{secrets.token_hex(6)}"
    mother = await person(db, keys, "이엄마", household)
    son = await person(db, keys, "이아들", household)
    mothers = await case_for(api, lead, mother)
    sons = await case_for(api, centre, son)
    await report(api, await registry(api, db), mother, "person.died")

    flagged = await read(api, lead, mothers["id"])
    assert flagged["stage"] == "service"  # not closed: the household goes on
    assert flagged["attention"] == {
        "kind": "reassessment",
        "since": TODAY.isoformat(),
        "reason": f"the person died on {TODAY.isoformat()}; the household is reassessed",
        "transfer_region": None,
    }
    other = await read(api, centre, sons["id"])
    assert other["attention"]["kind"] == "reassessment"
    assert "a member of the household died" in other["attention"]["reason"]
    assert "이엄마" not in json.dumps(other, ensure_ascii=False)

    # The lead reassesses (back to assessment): the flag has been acted on.
    reassessed = await move(api, centre, sons["id"], "assessment", TODAY)
    assert reassessed["attention"] is None


async def test_a_move_to_another_sigungu_flags_the_case_for_transfer(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    lead = await org(api, db, "local_government")  # in 제주시 (50110)
    mover = await person(db, keys)
    case = await case_for(api, lead, mover)
    events = await registry(api, db)

    await report(api, events, mover, "person.address_changed", new_region_code="5011025000")
    assert (await read(api, lead, case["id"]))["attention"] is None  # still in 제주시

    await report(api, events, mover, "person.address_changed", new_region_code="1135010500")
    flagged = (await read(api, lead, case["id"]))["attention"]
    assert (flagged["kind"], flagged["transfer_region"]) == ("transfer", "11350")

    await report(api, events, mover, "person.address_changed", new_region_code="5011011700")
    assert (await read(api, lead, case["id"]))["attention"] is None  # moved back

    await report(api, events, mover, "person.address_changed", new_region_code="1135010500")
    closed = await move(api, lead, case["id"], "closure", TODAY, closure_code="moved")
    assert (closed["closure_code"], closed["attention"]) == ("moved", None)


async def test_a_registry_file_has_the_same_consequences(
    api: httpx.AsyncClient, db: Database, keys: KeySet, app: FastAPI, tmp_path: Path
) -> None:
    (tmp_path / "alerts-test-registry.yaml").write_text(REGISTRY_FEED, encoding="utf-8")
    mapping = load_mappings(app.state.catalogue, [tmp_path])["alerts-test-registry"]
    lead = await org(api, db, "local_government")
    alone, mover = await person(db, keys), await person(db, keys)
    died, moved = await case_for(api, lead, alone), await case_for(api, lead, mover)
    tag = secrets.token_hex(4)
    rows = [
        {"rrn": alone.rrn, "name": alone.name, "region": "50110", "event_id": f"D-{tag}",
         "kind": "DEATH", "date": TODAY.isoformat()},
        {"rrn": mover.rrn, "name": mover.name, "region": "50110", "event_id": f"M-{tag}",
         "kind": "MOVE", "date": TODAY.isoformat(), "new_region": "1135010500"},
    ]  # fmt: skip
    content = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode()
    report_ = await ingest_file(
        db,
        keyset=keys,
        catalogue=app.state.catalogue,
        mapping=mapping,
        organisation="MOIS-RRS",
        stream=io.BytesIO(content),
    )
    assert report_.batch.status == "completed"
    assert (await read(api, lead, died["id"]))["closure_code"] == "death"
    assert (await read(api, lead, moved["id"]))["attention"]["transfer_region"] == "11350"


async def test_the_organisations_of_a_case_are_told_of_a_death(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    """Need to know includes a case (DOMAIN.md): the 시군구 team leading it is told under
    사회보장급여법 §42의2; a private centre only under a consent that names the category."""
    scopes = "cases:read cases:write consents:write alerts:subscribe"
    team = await org(api, db, "local_government", scopes)
    centre = await org(api, db, "welfare_centre", scopes)
    household = f"H-{secrets.token_hex(6)}"
    mother = await person(db, keys, "박엄마", household)
    son = await person(db, keys, "박아들", household)
    await person(db, keys, "박딸", household)
    led = await case_for(api, team, mother)
    await case_for(api, centre, son)  # its consent names case records only, not civil status
    subscriptions = {}
    for who in (team, centre):
        created = await api.post(
            "/v1/subscriptions",
            headers=who.headers,
            json={"event_types": ["person.died"], "delivery": {"mode": "pull"}},
        )
        assert created.status_code == 201, created.text
        subscriptions[who.code] = created.json()["id"]
    await report(api, await registry(api, db), mother, "person.died")
    await report(api, await registry(api, db), son, "person.died")

    told = await api.get(
        f"/v1/alerts?subscription={subscriptions[team.code]}", headers=team.headers
    )
    assert told.status_code == 200, told.text
    (alert,) = told.json()["items"]
    assert alert["event"]["data"]["cases"] == [{"number": led["number"]}]
    assert "enrolments" not in alert["event"]["data"]
    (entry,) = [e for e in await entries(db, team.client_id) if e.action == "alerts.deliver"]
    assert (entry.decision, entry.purpose, entry.basis) == (
        "permit",
        "case.management",
        "statute:ssba-case-management",
    )

    silent = await api.get(
        f"/v1/alerts?subscription={subscriptions[centre.code]}", headers=centre.headers
    )
    assert silent.json()["items"] == []
    (refused,) = [e for e in await entries(db, centre.client_id) if e.action == "alerts.deliver"]
    assert (refused.decision, refused.purpose) == ("deny", "case.management")
