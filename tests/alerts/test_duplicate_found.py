"""`duplicate.found` reaches the two organisations whose programmes conflict, through the
outbox sweep, and no other organisation that serves the person (hub.duplicates.announce,
hub.alerts.audience)."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from fastapi import FastAPI

from hub.database import Database
from hub.duplicates import announce
from hub.vault import KeySet, subject_ref
from tests.alerts.support import deliveries, enrol, organisation, person, subscribe, worker
from tests.alerts.test_fanout import entry

WORK, FOREST, EMPLOYMENT = "MOHW-SELF-SUPPORT-WORK", "KFS-FOREST-TENDING", "MOEL-LEARNING-CARD"


async def test_only_the_two_paying_organisations_learn_of_a_finding(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI
) -> None:
    work, forest, employment = [await organisation(api, db) for _ in range(3)]
    who = await person(db, keys)
    work_record = await enrol(db, who, WORK, work.code)
    await enrol(db, who, FOREST, forest.code)
    await enrol(db, who, EMPLOYMENT, employment.code)  # serves the person, not in the finding
    subs = {
        o.code: await subscribe(api, o, [announce.DUPLICATE_FOUND])
        for o in (work, forest, employment)
    }
    finding_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as session:
        await announce.publish(
            session,
            [announce.Found(finding_id, "DUP-02", WORK, FOREST, who.id, who.id, now)],
            now=now,
        )

    assert await deliveries(db, subs[work.code]["id"]) == []  # waits for the sweep
    await worker(alerts_app, db).run_once()

    (told,) = await deliveries(db, subs[work.code]["id"])
    assert told.type == announce.DUPLICATE_FOUND
    assert told.data == {
        "subject_ref": subject_ref(keys, who.id, work.code),
        "effective_date": now.astimezone(dt.timezone(dt.timedelta(hours=9))).date().isoformat(),
        "finding_id": str(finding_id),
        "rule_id": "DUP-02",
        "programme": WORK,
        "conflicting_programme": FOREST,
        "enrolments": [{"programme": WORK, "source_record_id": work_record}],
    }
    assert len(await deliveries(db, subs[forest.code]["id"])) == 1
    assert await deliveries(db, subs[employment.code]["id"]) == []
    logged = await entry(db, told.disclosure_id)
    assert (logged.decision, logged.basis, logged.purpose) == (
        "permit",
        "statute:fass-status-notification",
        "status.notification",
    )
    assert logged.data_categories == ["identity.pseudonym", "duplicate.finding"]
