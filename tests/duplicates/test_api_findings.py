"""GET /v1/duplicates/findings, GET /v1/duplicates/findings/{id} and POST …/resolution over
HTTP, on both databases: a finding is shown only to the organisations it involves (to a welfare
centre only under consent), each showing is logged per person, and resolutions form an
append-only history that never touches an enrolment."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hub.database import Database
from hub.duplicates.models import DuplicateFinding, DuplicateResolution
from hub.duplicates.rules import rule_hash
from hub.kit.clock import utcnow
from hub.records.models import Enrolment
from hub.vault import KeySet, subject_ref
from schemas.catalogue import load_catalogue
from tests.duplicates.test_api_check import (
    STATUTE,
    app_and_database,
    enrol,
    refuse_log_inserts,
)
from tests.eligibility.test_eligibility_api import Person, consent, entries_of, headers_for, person

D = dt.date
CATALOGUE = load_catalogue()
START = D(2025, 3, 1)
RULES = {rule.id: rule for rule in CATALOGUE.duplicate_rules}
ITEM_KEYS = {
    "id",
    "rule_id",
    "rule_name",
    "rule_hash",
    "programme_a",
    "ministry_a",
    "programme_b",
    "ministry_b",
    "overlap_start",
    "overlap_end",
    "status",
    "found_at",
    "found_by",
    "subject_refs",
    "history",
}


@pytest.fixture
def keys(keys_file) -> KeySet:  # type: ignore[no-untyped-def]
    return KeySet.load(keys_file)


@dataclass(frozen=True)
class Side:
    who: Person
    programme: str
    source: str
    start: dt.date = START
    end: dt.date | None = None


async def finding(
    db: Database,
    rule_id: str,
    a: Side,
    b: Side,
    *,
    household: str | None = None,
    found_at: dt.datetime | None = None,
) -> uuid.UUID:
    """A finding row over two real enrolments, as a scan would record it."""
    enrolment_a = await enrol(db, a.who, a.programme, a.source, a.start, a.end)
    enrolment_b = await enrol(db, b.who, b.programme, b.source, b.start, b.end)
    async with db.transaction() as session:
        row = DuplicateFinding(
            rule_id=rule_id,
            rule_hash=rule_hash(RULES[rule_id]),
            enrolment_a=enrolment_a,
            enrolment_b=enrolment_b,
            programme_a=a.programme,
            programme_b=b.programme,
            source_a=a.source,
            source_b=b.source,
            person_a=a.who.id,
            person_b=b.who.id,
            household_id=household,
            overlap_start=max(a.start, b.start),
            overlap_end=None,
            status="open",
            found_at=found_at or utcnow(),
            found_by=f"scan:{uuid.uuid4()}",
        )
        session.add(row)
        await session.flush()
        return row.id


async def dup01(db: Database, keys: KeySet) -> tuple[uuid.UUID, Person]:
    who = await person(db, keys)
    found = await finding(
        db,
        "DUP-01",
        Side(who, "MOHW-BLS-EDUCATION", "MOHW"),
        Side(who, "MPVA-TUITION", "MPVA", D(2025, 6, 1)),
    )
    return found, who


async def listed(api: httpx.AsyncClient, headers: dict, **params: str) -> list[dict]:
    """Every page of the caller's findings."""
    items: list[dict] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await api.get("/v1/duplicates/findings", headers=headers, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["count"] == len(page["items"])
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_both_ministries_see_a_finding_each_under_its_own_pseudonym_and_a_third_does_not(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    found, who = await dup01(db, keys)
    refs = []
    for ministry in ("MOHW", "MPVA"):
        headers, client_id = await headers_for(api, db, ministry)
        items = [i for i in await listed(api, headers, rule_id="DUP-01") if i["id"] == str(found)]
        assert len(items) == 1
        item = items[0]
        assert set(item) == ITEM_KEYS
        assert item["history"] is None
        assert (item["programme_a"], item["ministry_a"]) == ("MOHW-BLS-EDUCATION", "MOHW")
        assert (item["programme_b"], item["ministry_b"]) == ("MPVA-TUITION", "MPVA")
        assert item["status"] == "open"
        assert item["rule_hash"] == rule_hash(RULES["DUP-01"])
        assert item["subject_refs"] == [subject_ref(keys, who.id, ministry)]
        refs.append(item["subject_refs"][0])
        entries = [e for e in await entries_of(db, client_id) if e.subject_ref is not None]
        assert {(e.action, e.basis) for e in entries} >= {("duplicates.findings.list", STATUTE)}
        assert all(
            e.data_categories == ["duplicate.finding", "identity.pseudonym"] for e in entries
        )
    assert refs[0] != refs[1]

    headers, _ = await headers_for(api, db, "KFS")
    assert str(found) not in {i["id"] for i in await listed(api, headers)}
    response = await api.get(f"/v1/duplicates/findings/{found}", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_listing_logs_one_entry_per_person_shown(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    found, _ = await dup01(db, keys)
    headers, client_id = await headers_for(api, db, "MOHW")
    response = await api.get(
        "/v1/duplicates/findings",
        headers=headers,
        params={"rule_id": "DUP-01", "status": "open", "programme": "MPVA-TUITION", "limit": 1},
    )
    assert response.status_code == 200, response.text
    assert [i["id"] for i in response.json()["items"]] == [str(found)]
    logged = await entries_of(db, client_id)
    assert [(e.action, e.decision, e.basis) for e in logged] == [
        ("duplicates.findings.list", "permit", STATUTE)
    ]
    assert logged[0].subject_ref is not None


async def test_pages_follow_found_at_then_id_without_gaps_or_repeats(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    now = utcnow()
    made = []
    for minutes in (3, 2, 2, 1):
        who = await person(db, keys)
        made.append(
            await finding(
                db,
                "DUP-02",
                Side(who, "MOHW-SELF-SUPPORT-WORK", "MOHW"),
                Side(who, "KFS-FOREST-TENDING", "KFS"),
                found_at=now - dt.timedelta(minutes=minutes),
            )
        )
    headers, _ = await headers_for(api, db, "KFS")
    ids = [i["id"] for i in await listed(api, headers, rule_id="DUP-02", limit="1")]
    assert len(ids) == len(set(ids))
    mine = [uuid.UUID(i) for i in ids if uuid.UUID(i) in made]
    tied = sorted(made[1:3], reverse=True)
    assert mine == [made[3], *tied, made[0]]

    bad = await api.get("/v1/duplicates/findings", headers=headers, params={"cursor": "nope"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.cursor"


async def test_a_welfare_centre_sees_its_households_findings_only_under_consent(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    household = f"H-{uuid.uuid4().hex}"
    mother = await person(db, keys, household=household)
    son = await person(db, keys, household=household)
    found = await finding(
        db,
        "DUP-29",
        Side(mother, "PRIV-FOOD", "WC-NOWON", D(2025, 5, 1), D(2025, 5, 1)),
        Side(son, "PRIV-FOOD", "WC-NOWON-2", D(2025, 5, 20), D(2025, 5, 20)),
        household=household,
    )
    headers, client_id = await headers_for(api, db, "WC-NOWON", "duplicates:check")
    path = f"/v1/duplicates/findings/{found}"

    async def visible() -> bool:
        return str(found) in {i["id"] for i in await listed(api, headers, rule_id="DUP-29")}

    assert not await visible()
    refused = await api.get(path, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["denial"] == "no_basis"
    assert (await entries_of(db, client_id))[-1].decision == "deny"

    granted = []
    for who in (mother, son):  # the finding concerns both: both must have consented
        granted.append(
            await consent(
                db,
                who,
                recipients=["WC-NOWON", "WC-NOWON-2"],
                purposes=["duplicate.prevention"],
                categories=["duplicate.finding", "identity.pseudonym"],
            )
        )
        assert await visible() is (who is son)
    response = await api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["subject_refs"] == [subject_ref(keys, mother.id, "WC-NOWON")]  # its own side
    assert (item["ministry_a"], item["ministry_b"]) == (None, None)
    read = [e for e in await entries_of(db, client_id) if e.action == "duplicates.findings.read"]
    assert sorted(e.basis for e in read if e.decision == "permit") == sorted(
        f"consent:{c}" for c in granted
    )

    for outsider, scopes in (("WC-ARA", "duplicates:check"), ("MOHW", None)):
        other, _ = await headers_for(api, db, outsider, scopes)
        assert (await api.get(path, headers=other)).status_code == 404


async def resolve(
    api: httpx.AsyncClient, headers: dict, found: uuid.UUID, body: dict, key: str | None = None
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return await api.post(
        f"/v1/duplicates/findings/{found}/resolution", headers=headers | extra, json=body
    )


async def enrolments_of(db: Database, who: Person) -> list[tuple]:
    async with db.transaction() as session:
        rows = await session.scalars(select(Enrolment).where(Enrolment.person_id == who.id))
        return sorted(
            (e.id, e.status, e.period_start, e.period_end, e.amount_won, e.updated_at) for e in rows
        )


async def test_resolutions_append_to_the_history_and_never_touch_enrolments(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    found, who = await dup01(db, keys)
    before = await enrolments_of(db, who)
    mohw, mohw_client = await headers_for(api, db, "MOHW")
    mpva, _ = await headers_for(api, db, "MPVA")

    confirmed = await resolve(api, mohw, found, {"status": "confirmed"})
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    resolved = await resolve(
        api, mpva, found, {"status": "resolved", "reason": "tuition support ended"}
    )
    assert resolved.status_code == 201, resolved.text
    history = resolved.json()["history"]
    assert [(h["status"], h["organisation"], h["reason"]) for h in history] == [
        ("confirmed", "MOHW", None),
        ("resolved", "MPVA", "tuition support ended"),
    ]

    final = await resolve(api, mohw, found, {"status": "dismissed", "reason": "no"})
    assert final.status_code == 409
    assert "a resolved finding is final" in final.json()["detail"]
    read = await api.get(f"/v1/duplicates/findings/{found}", headers=mohw)
    assert read.json()["status"] == "resolved"
    assert len(read.json()["history"]) == 2
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).where(DuplicateResolution.finding_id == found)
        )
    assert count == 2
    assert await enrolments_of(db, who) == before  # no automatic stop of payment
    actions = {e.action for e in await entries_of(db, mohw_client)}
    assert {"duplicates.findings.resolve", "duplicates.findings.read"} <= actions


@pytest.mark.parametrize(
    ("first", "then", "status"),
    [
        ({"status": "dismissed", "reason": "different school years"}, "confirmed", 409),
        ({"status": "confirmed"}, "confirmed", 409),
        ({"status": "confirmed"}, "dismissed", 201),
        ({"status": "resolved"}, "open", 422),
    ],
)
async def test_transitions(
    api: httpx.AsyncClient, db: Database, keys: KeySet, first: dict, then: str, status: int
) -> None:
    found, _ = await dup01(db, keys)
    headers, _ = await headers_for(api, db, "MOHW")
    assert (await resolve(api, headers, found, first)).status_code == 201
    response = await resolve(api, headers, found, {"status": then, "reason": "checked again"})
    assert response.status_code == status, response.text


async def test_dismissing_needs_a_reason_and_outsiders_cannot_resolve(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    found, _ = await dup01(db, keys)
    headers, _ = await headers_for(api, db, "MOHW")
    response = await resolve(api, headers, found, {"status": "dismissed"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.reason"]
    outsider, _ = await headers_for(api, db, "KFS")
    assert (await resolve(api, outsider, found, {"status": "confirmed"})).status_code == 404
    missing = await resolve(api, headers, uuid.uuid4(), {"status": "confirmed"})
    assert missing.status_code == 404


async def test_the_same_idempotency_key_replays_the_first_answer(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    found, _ = await dup01(db, keys)
    headers, _ = await headers_for(api, db, "MOHW")
    key = f"k-{uuid.uuid4().hex}"
    first = await resolve(api, headers, found, {"status": "confirmed"}, key)
    again = await resolve(api, headers, found, {"status": "confirmed"}, key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    other = await resolve(api, headers, found, {"status": "resolved"}, key)
    assert other.status_code == 422
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count()).where(DuplicateResolution.finding_id == found)
        )
    assert count == 1


@pytest.fixture
async def failing_log_api(fresh_database_url: str, keys_file: Path) -> AsyncIterator[tuple]:
    async with app_and_database(fresh_database_url, keys_file) as pair:
        yield pair


async def test_no_finding_is_released_when_the_log_cannot_be_written(
    failing_log_api: tuple, keys: KeySet
) -> None:
    api, db = failing_log_api
    found, _ = await dup01(db, keys)
    headers, _ = await headers_for(api, db, "MOHW")
    await refuse_log_inserts(db)
    for response in (
        await api.get("/v1/duplicates/findings", headers=headers),
        await api.get(f"/v1/duplicates/findings/{found}", headers=headers),
        await resolve(api, headers, found, {"status": "confirmed"}),
    ):
        assert response.status_code == 503
        assert str(found) not in response.text.replace(f"/findings/{found}", "")
        assert "subject_refs" not in response.text
    async with db.transaction() as session:
        assert (await session.get(DuplicateFinding, found)).status == "open"
