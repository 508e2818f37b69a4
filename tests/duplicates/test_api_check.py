"""POST /v1/duplicates/check over HTTP, on both databases: a ministry about to enrol a person
learns the conflicts with its programme (rule, conflicting programme and ministry, days, legal
reference) and nothing else about the person; every answer and refusal is logged, and nothing
is released when the log cannot be written."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from hub.database import Database
from hub.main import create_app
from hub.records.models import Enrolment
from hub.vault import KeySet
from tests.conftest import make_settings
from tests.eligibility.test_eligibility_api import Person, consent, entries_of, headers_for, person
from tests.factories import asgi_client, new_rrn, refuse_log_inserts

D = dt.date
CONFLICT_KEYS = {
    "rule_id",
    "rule_name",
    "conflicting_programme",
    "conflicting_ministry",
    "overlap_start",
    "overlap_end",
    "legal_reference",
    "rule_source",
}
STATUTE = "statute:fass-duplicate-prevention"


@pytest.fixture
def keys(keys_file) -> KeySet:  # type: ignore[no-untyped-def]
    return KeySet.load(keys_file)


async def enrol(
    db: Database,
    who: Person,
    programme: str,
    source: str,
    start: dt.date,
    end: dt.date | None = None,
    status: str = "active",
) -> uuid.UUID:
    async with db.transaction() as session:
        row = Enrolment(
            person_id=who.id,
            programme_code=programme,
            source_org=source,
            source_record_id=f"E-{uuid.uuid4().hex}",
            period_start=start,
            period_end=end,
            status=status,
            amount_won=250_000,
            fingerprint="0" * 64,
        )
        session.add(row)
        await session.flush()
        return row.id


def check_body(rrn: str, programme: str, start: dt.date, end: dt.date | None = None) -> dict:
    return {
        "subject": {"rrn": rrn},
        "programme": programme,
        "period_start": start.isoformat(),
        "period_end": end.isoformat() if end else None,
    }


async def post_check(api: httpx.AsyncClient, headers: dict, body: dict) -> httpx.Response:
    return await api.post("/v1/duplicates/check", headers=headers, json=body)


async def test_dup01_fires_for_a_person_in_the_other_programme_and_tells_nothing_else(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    who = await person(db, keys)
    await enrol(db, who, "MPVA-TUITION", "MPVA", D(2025, 3, 1), D(2025, 8, 31))
    await enrol(db, who, "MOHW-BLS-LIVELIHOOD", "MOHW", D(2024, 1, 1))  # no rule with EDUCATION
    headers, client_id = await headers_for(api, db, "MOHW")

    response = await post_check(
        api, headers, check_body(who.rrn, "MOHW-BLS-EDUCATION", D(2025, 6, 1))
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"basis", "rules_hash", "conflicts"}
    assert body["basis"] == STATUTE
    assert len(body["rules_hash"]) == 64
    assert len(body["conflicts"]) == 1
    conflict = body["conflicts"][0]
    assert set(conflict) == CONFLICT_KEYS
    assert conflict["rule_id"] == "DUP-01"
    assert conflict["rule_name"] == "기초보장교육급여 ↔ 수업료국비지원"
    assert conflict["conflicting_programme"] == "MPVA-TUITION"
    assert conflict["conflicting_ministry"] == "MPVA"
    assert (conflict["overlap_start"], conflict["overlap_end"]) == ("2025-06-01", "2025-08-31")
    assert conflict["rule_source"] == "real"
    assert "국민기초생활 보장법 §12" in conflict["legal_reference"]
    for private in (who.rrn, "250000", "active", "sr_", str(who.id)):
        assert private not in response.text

    logged = await entries_of(db, client_id)
    assert [(e.action, e.decision, e.basis) for e in logged] == [
        ("duplicates.check", "permit", STATUTE)
    ]
    assert logged[0].data_categories == ["duplicate.finding"]
    assert logged[0].purpose == "duplicate.prevention"
    assert logged[0].subject_ref is not None
    assert logged[0].subject_ref.startswith("lsr_")
    assert set(logged[0].fields) == CONFLICT_KEYS


async def test_the_rule_works_both_ways(api: httpx.AsyncClient, db: Database, keys: KeySet) -> None:
    who = await person(db, keys)
    await enrol(db, who, "MOHW-BLS-EDUCATION", "MOHW", D(2025, 1, 1))
    headers, _ = await headers_for(api, db, "MPVA")
    response = await post_check(
        api, headers, check_body(who.rrn, "MPVA-TUITION", D(2025, 9, 1), D(2026, 2, 28))
    )
    conflicts = response.json()["conflicts"]
    assert [(c["rule_id"], c["conflicting_ministry"]) for c in conflicts] == [("DUP-01", "MOHW")]
    assert (conflicts[0]["overlap_start"], conflicts[0]["overlap_end"]) == (
        "2025-09-01",
        "2026-02-28",
    )


@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        (D(2025, 9, 1), None, "active"),  # the day after the tuition support ends
        (D(2024, 1, 1), D(2025, 2, 28), "active"),  # ends the day before it starts
        (D(2025, 6, 1), None, "suspended"),  # overlapping, but the enrolment is suspended
    ],
)
async def test_adjacent_periods_and_suspended_enrolments_do_not_conflict(
    api: httpx.AsyncClient,
    db: Database,
    keys: KeySet,
    start: dt.date,
    end: dt.date | None,
    status: str,
) -> None:
    who = await person(db, keys)
    await enrol(db, who, "MPVA-TUITION", "MPVA", D(2025, 3, 1), D(2025, 8, 31), status=status)
    headers, _ = await headers_for(api, db, "MOHW")
    response = await post_check(api, headers, check_body(who.rrn, "MOHW-BLS-EDUCATION", start, end))
    assert response.status_code == 200, response.text
    assert response.json()["conflicts"] == []


async def test_a_household_rule_fires_through_a_member_without_naming_them(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    household = f"H-{uuid.uuid4().hex}"
    applicant = await person(db, keys, household=household)
    mother = await person(db, keys, household=household)
    brother = await person(db, keys, household=household)
    neighbour = await person(db, keys, household=f"H-{uuid.uuid4().hex}")
    await enrol(db, mother, "MOHW-BLS-HOUSING", "MOHW", D(2025, 1, 1), D(2025, 4, 10))
    await enrol(db, brother, "MOHW-BLS-HOUSING", "MOHW", D(2025, 3, 1), D(2025, 6, 30))
    await enrol(db, neighbour, "MOHW-BLS-HOUSING", "MOHW", D(2025, 1, 1))
    await enrol(db, mother, "MPVA-TUITION", "MPVA", D(2025, 1, 1))  # DUP-01 is person-scope
    headers, client_id = await headers_for(api, db, "MOLIT")

    response = await post_check(
        api, headers, check_body(applicant.rrn, "MOLIT-YOUTH-RENT", D(2025, 4, 15), D(2025, 12, 31))
    )
    assert response.status_code == 200, response.text
    conflicts = response.json()["conflicts"]
    # DUP-20, same_month: the months April to June; the two members' enrolments merge into one span.
    assert [
        (c["rule_id"], c["conflicting_programme"], c["overlap_start"], c["overlap_end"])
        for c in conflicts
    ] == [("DUP-20", "MOHW-BLS-HOUSING", "2025-04-01", "2025-06-30")]
    assert conflicts[0]["rule_source"] == "synthetic"
    for private in (mother.rrn, brother.rrn, str(mother.id), household):
        assert private not in response.text
    assert (await entries_of(db, client_id))[-1].basis == STATUTE


async def test_an_unknown_person_has_no_conflicts_in_the_same_shape(
    api: httpx.AsyncClient, db: Database
) -> None:
    headers, client_id = await headers_for(api, db, "MOHW")
    response = await post_check(
        api, headers, check_body(new_rrn(), "MOHW-BLS-EDUCATION", D(2025, 6, 1))
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"basis", "rules_hash", "conflicts"}
    assert body["conflicts"] == []
    logged = await entries_of(db, client_id)
    assert [(e.decision, e.basis, e.subject_ref) for e in logged] == [("permit", STATUTE, None)]


@pytest.mark.parametrize(
    ("programme", "end", "status", "field"),
    [
        ("MPVA-TUITION", None, 403, None),  # another ministry's programme
        ("MOHW-NO-SUCH", None, 422, "body.programme"),
        ("MOHW-BLS-EDUCATION", D(2025, 5, 31), 422, "body.period_end"),
    ],
)
async def test_refusals_are_clear_and_logged(
    api: httpx.AsyncClient,
    db: Database,
    keys: KeySet,
    programme: str,
    end: dt.date | None,
    status: int,
    field: str | None,
) -> None:
    who = await person(db, keys)
    await enrol(db, who, "MPVA-TUITION", "MPVA", D(2025, 1, 1))
    headers, client_id = await headers_for(api, db, "MOHW")
    response = await post_check(api, headers, check_body(who.rrn, programme, D(2025, 6, 1), end))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert who.rrn not in response.text
    assert "conflicts" not in response.text
    if field:
        assert [e["field"] for e in response.json()["errors"]] == [field]
    logged = await entries_of(db, client_id)
    assert [(e.action, e.decision, e.basis) for e in logged] == [("duplicates.check", "deny", None)]


async def test_the_scope_is_required(api: httpx.AsyncClient, db: Database, keys: KeySet) -> None:
    who = await person(db, keys)
    headers, _ = await headers_for(api, db, "MOHW", "eligibility:verify")
    response = await post_check(
        api, headers, check_body(who.rrn, "MOHW-BLS-EDUCATION", D(2025, 1, 1))
    )
    assert response.status_code == 403
    assert response.json()["type"] == "urn:hub:problem:insufficient-scope"


async def test_a_welfare_centre_checks_its_own_support_under_consent_only(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    """DUP-29 (the Nowon case): food support from another facility within 30 days counts, the
    caller's own earlier support does not, and without the person's consent nothing is said."""
    household = f"H-{uuid.uuid4().hex}"
    applicant = await person(db, keys, household=household)
    daughter = await person(db, keys, household=household)
    await enrol(db, daughter, "PRIV-FOOD", "WC-NOWON-2", D(2025, 5, 1), D(2025, 5, 1))
    await enrol(db, applicant, "PRIV-FOOD", "WC-NOWON", D(2025, 5, 20), D(2025, 5, 20))
    headers, client_id = await headers_for(api, db, "WC-NOWON", "duplicates:check")
    body = check_body(applicant.rrn, "PRIV-FOOD", D(2025, 5, 25), D(2025, 5, 25))

    refused = await post_check(api, headers, body)
    assert refused.status_code == 403
    assert refused.json()["denial"] == "no_basis"

    consent_id = await consent(
        db,
        applicant,
        recipients=["WC-NOWON"],
        purposes=["duplicate.prevention"],
        categories=["duplicate.finding"],
    )
    response = await post_check(api, headers, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["basis"] == f"consent:{consent_id}"
    assert [
        (c["rule_id"], c["conflicting_ministry"], c["overlap_start"], c["overlap_end"])
        for c in answer["conflicts"]
    ] == [("DUP-29", None, "2025-05-01", "2025-05-25")]  # the gap to the other facility's
    assert "WC-NOWON-2" not in response.text
    logged = await entries_of(db, client_id)
    assert [(e.decision, e.basis) for e in logged] == [
        ("deny", None),
        ("permit", f"consent:{consent_id}"),
    ]


async def test_another_kinds_private_support_is_not_the_callers(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    who = await person(db, keys)
    headers, _ = await headers_for(api, db, "MOHW")
    response = await post_check(api, headers, check_body(who.rrn, "PRIV-FOOD", D(2025, 5, 1)))
    assert response.status_code == 403


@asynccontextmanager
async def app_and_database(database_url: str, keys_file: Path) -> AsyncIterator[tuple]:
    """The app over a database of its own (a trigger there harms no other test)."""
    settings = make_settings(database_url, keys_file)
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        database = Database(settings.database)
        async with asgi_client(application) as client:
            yield client, database
        await database.dispose()


@pytest.fixture
async def failing_log_api(fresh_database_url: str, keys_file: Path) -> AsyncIterator[tuple]:
    async with app_and_database(fresh_database_url, keys_file) as pair:
        yield pair


async def test_no_conflict_is_released_when_the_log_cannot_be_written(
    failing_log_api: tuple, keys: KeySet
) -> None:
    api, db = failing_log_api
    who = await person(db, keys)
    await enrol(db, who, "MPVA-TUITION", "MPVA", D(2025, 1, 1))
    headers, _ = await headers_for(api, db, "MOHW")
    await refuse_log_inserts(db)
    response = await post_check(
        api, headers, check_body(who.rrn, "MOHW-BLS-EDUCATION", D(2025, 6, 1))
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:hub:problem:disclosure-log-unavailable"
    for released in ("conflicts", "DUP-01", "MPVA-TUITION", "basis"):
        assert released not in response.text
