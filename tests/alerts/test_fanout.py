"""Need-to-know fan-out on both databases: only agencies that serve the person at the event's
time are told, each delivery has its disclosure-log entry on a decided basis, the event and
its deliveries commit together, and the data carries the recipient's own pseudonym only."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from audit.log import subject_of
from audit.models import DisclosureEntry
from hub.database import Database
from hub.events.models import Event
from hub.records.models import Person as PersonRow
from hub.records.models import StatusEvent
from hub.vault import KeySet, subject_ref
from tests.alerts.support import (
    TODAY,
    deliveries,
    enrol,
    event,
    organisation,
    person,
    report,
    subscribe,
    worker,
)

PROGRAMME = "MOEL-EMPLOYMENT-SUCCESS"


async def entry(db: Database, entry_id: int) -> DisclosureEntry:
    async with db.transaction() as session:
        row = await session.get(DisclosureEntry, entry_id)
        assert row is not None
        return row


async def test_a_death_reaches_the_agency_that_serves_the_person_and_no_other(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    serving = await organisation(api, db)
    unrelated = await organisation(api, db)
    ended = await organisation(api, db)
    who, someone_else = await person(db, keys), await person(db, keys)
    record_id = await enrol(db, who, PROGRAMME, serving.code)
    await enrol(db, who, PROGRAMME, ended.code, status="ended")
    await enrol(db, someone_else, PROGRAMME, unrelated.code)
    subs = {o.code: await subscribe(api, o, ["person.died"]) for o in (serving, unrelated, ended)}

    await report(api, registry, event(who, "person.died", day=TODAY))

    told = await deliveries(db, subs[serving.code]["id"])
    assert [d.seq for d in told] == [1]
    # The delivery's id is the CloudEvent id the agency sees: random, with no minting time
    # that would let two agencies line up their events.
    assert told[0].id.version == 4
    data = told[0].data
    assert data == {
        "subject_ref": subject_ref(keys, who.id, serving.code),
        "effective_date": TODAY.isoformat(),
        "enrolments": [{"programme": PROGRAMME, "source_record_id": record_id}],
    }
    assert who.rrn not in str(data)
    assert "홍길동" not in str(data)
    assert await deliveries(db, subs[unrelated.code]["id"]) == []
    assert await deliveries(db, subs[ended.code]["id"]) == []

    logged = await entry(db, told[0].disclosure_id)
    assert logged.action == "alerts.deliver"
    assert logged.organisation == serving.code
    assert logged.client_id == serving.client_id
    assert logged.decision == "permit"
    assert logged.purpose == "status.notification"
    assert logged.basis == "statute:fass-status-notification"
    assert logged.data_categories == ["identity.pseudonym", "civil.status"]
    assert logged.subject_ref == subject_of(keys, who.id)
    assert logged.request_id == str(told[0].id)

    async with db.transaction() as session:  # the registry's change is applied as well
        row = await session.get(PersonRow, who.id)
        assert row is not None
        assert row.civil_status == "deceased"
        (stored,) = await session.scalars(select(Event).where(Event.person_id == who.id))
        assert stored.fanned_out_at is not None  # fanned out in the same transaction


async def test_the_ministry_that_runs_the_programme_learns_of_a_move(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    local = await organisation(api, db, kind="local_government")
    ministry = await organisation(api, db, code="MOEL")
    who = await person(db, keys)
    await enrol(db, who, PROGRAMME, local.code)  # reported by the local office, run by MOEL
    sub = await subscribe(api, ministry, ["person.address_changed"])
    try:
        await report(
            api, registry, event(who, "person.address_changed", new_region_code="50110", x="y")
        )
        (told,) = await deliveries(db, sub["id"])
        assert told.data == {
            "subject_ref": subject_ref(keys, who.id, "MOEL"),
            "effective_date": TODAY.isoformat(),
            "new_region_code": "50110",
        }  # no enrolment of its own to name; the unknown detail "x" is dropped
        assert (await entry(db, told.disclosure_id)).data_categories == [
            "identity.pseudonym",
            "civil.address",
        ]
    finally:
        await api.delete(f"/v1/subscriptions/{sub['id']}", headers=ministry.headers)


async def test_an_enrolment_that_does_not_cover_the_events_date_tells_no_one(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    later = await organisation(api, db)
    who = await person(db, keys)
    await enrol(db, who, PROGRAMME, later.code, start=TODAY + dt.timedelta(days=10))
    sub = await subscribe(api, later, ["person.died"])
    await report(api, registry, event(who, "person.died", day=TODAY))
    assert await deliveries(db, sub["id"]) == []


async def test_a_welfare_centre_is_told_under_consent_and_refused_without_one(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    controller = await organisation(
        api, db, kind="local_government", scopes="consents:write alerts:subscribe"
    )
    centre = await organisation(api, db, kind="welfare_centre")
    other_centre = await organisation(api, db, kind="welfare_centre")
    who = await person(db, keys)
    await enrol(db, who, "MOHW-DREAM-START", other_centre.code)  # serves, but no basis
    given = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    response = await api.post(
        "/v1/consents",
        headers=controller.headers,
        json={
            "subject": {"rrn": who.rrn},
            "recipients": [centre.code],
            "purposes": ["status.notification"],
            "data_categories": ["identity.pseudonym", "civil.status"],
            "collection_method": "written",
            "form_sha256": "a" * 64,
            "given_at": given,
        },
    )
    assert response.status_code == 201, response.text
    consent_id = response.json()["id"]
    told_sub = await subscribe(api, centre, ["person.died"])
    refused_sub = await subscribe(api, other_centre, ["person.died"])

    await report(api, registry, event(who, "person.died"))

    (told,) = await deliveries(db, told_sub["id"])
    assert (await entry(db, told.disclosure_id)).basis == f"consent:{consent_id}"
    assert await deliveries(db, refused_sub["id"]) == []
    async with db.transaction() as session:
        refusals = list(
            await session.scalars(
                select(DisclosureEntry).where(
                    DisclosureEntry.organisation == other_centre.code,
                    DisclosureEntry.action == "alerts.deliver",
                )
            )
        )
    assert [(e.decision, e.basis, e.fields) for e in refusals] == [("deny", None, [])]


async def test_a_withdrawal_of_consent_reaches_its_recipients_through_the_sweep(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI
) -> None:
    controller = await organisation(
        api, db, kind="local_government", scopes="consents:write alerts:subscribe"
    )
    recipient, bystander = (
        await organisation(api, db, kind="welfare_centre"),
        await organisation(api, db, kind="welfare_centre"),
    )
    who = await person(db, keys)
    response = await api.post(
        "/v1/consents",
        headers=controller.headers,
        json={
            "subject": {"rrn": who.rrn},
            "recipients": [recipient.code],
            "purposes": ["case.management"],
            "data_categories": ["case.record"],
            "collection_method": "written",
            "form_sha256": "b" * 64,
            "given_at": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    consent_id = response.json()["id"]
    told_sub = await subscribe(api, recipient, ["consent.withdrawn"])
    bystander_sub = await subscribe(api, bystander, ["consent.withdrawn"])
    withdrawn = await api.post(
        f"/v1/consents/{consent_id}/withdraw", headers=controller.headers, json={"reason": "asked"}
    )
    assert withdrawn.status_code == 200, withdrawn.text

    assert await deliveries(db, told_sub["id"]) == []  # the consents service only adds the event
    await worker(alerts_app, db).run_once()  # the sweep fans it out
    (told,) = await deliveries(db, told_sub["id"])
    assert told.type == "consent.withdrawn"
    assert told.data["consent_id"] == consent_id
    assert told.data["subject_ref"] == subject_ref(keys, who.id, recipient.code)
    logged = await entry(db, told.disclosure_id)
    assert (logged.basis, logged.purpose) == (f"consent:{consent_id}", "consent.administration")
    assert await deliveries(db, bystander_sub["id"]) == []


async def test_events_are_idempotent_by_source_event_id_and_say_nothing_about_the_person(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    registry = await organisation(api, db, kind="registry", scopes="events:write")
    serving = await organisation(api, db)
    who = await person(db, keys)
    await enrol(db, who, PROGRAMME, serving.code)
    sub = await subscribe(api, serving, ["person.deregistered"])
    sent = event(who, "person.deregistered")
    unknown = event(who, "person.deregistered") | {"subject": {"rrn": "800101-1234567"}}
    for _ in range(2):
        await report(api, registry, sent, unknown)  # the same answer whoever is known
    assert [d.seq for d in await deliveries(db, sub["id"])] == [1]
    async with db.transaction() as session:
        count = await session.scalars(
            select(StatusEvent.id).where(StatusEvent.source_event_id == sent["source_event_id"])
        )
        assert len(list(count)) == 1


async def test_only_the_registry_reports_civil_status_and_bad_events_change_nothing(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    ministry = await organisation(api, db, scopes="events:write")
    who = await person(db, keys)
    refused = await api.post(
        "/v1/events", headers=ministry.headers, json={"events": [event(who, "person.died")]}
    )
    assert refused.status_code == 403
    assert "registry" in refused.json()["detail"]
    eligibility = event(who, "eligibility.changed", programme="MOHW-BLS-LIVELIHOOD", change="end")
    accepted = await api.post(
        "/v1/events", headers=ministry.headers, json={"events": [eligibility]}
    )
    assert accepted.status_code == 202, accepted.text

    registry = await organisation(api, db, kind="registry", scopes="events:write")
    good, bad = event(who, "person.died"), event(who, "person.address_changed")  # no region
    response = await api.post("/v1/events", headers=registry.headers, json={"events": [good, bad]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body.events[1]")
    assert who.rrn not in response.text
    async with db.transaction() as session:
        row = await session.get(PersonRow, who.id)
        assert row is not None
        assert row.civil_status == "alive"
