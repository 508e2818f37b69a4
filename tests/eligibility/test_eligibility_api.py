"""POST /v1/eligibility/verify, /benefits and /recommend over HTTP, on both databases: the
least the purpose needs, on a recorded basis, every answer and refusal in the disclosure log,
and nothing released when the log cannot be written."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from audit.models import DisclosureEntry
from hub.consents.models import ConsentRow
from hub.database import Database
from hub.kit.clock import utcnow
from hub.main import create_app
from hub.records.models import AttributeFact, Enrolment
from hub.records.repository import NewPerson, add_person
from hub.vault import KeySet
from schemas.identifiers import parse_rrn
from tests.conftest import make_settings
from tests.factories import asgi_client, bearer, new_client, new_rrn, refuse_log_inserts

TODAY = dt.datetime.now(dt.UTC).date()


@dataclass
class Person:
    rrn: str
    id: uuid.UUID


async def person(
    db: Database,
    keys: KeySet,
    *,
    born: dt.date | None = None,
    region: str = "11350",
    household: str | None = None,
) -> Person:
    rrn = new_rrn(born)
    async with db.transaction() as session:
        row = await add_person(
            session,
            keys,
            NewPerson(parse_rrn(rrn), "홍길동", region_code=region, household_id=household),
        )
        return Person(rrn, row.id)


async def enrol(
    db: Database, who: Person, programme: str, source: str, status: str = "active"
) -> None:
    async with db.transaction() as session:
        session.add(
            Enrolment(
                person_id=who.id,
                programme_code=programme,
                source_org=source,
                source_record_id=f"E-{uuid.uuid4().hex}",
                period_start=TODAY - dt.timedelta(days=90),
                status=status,
                fingerprint="0" * 64,
            )
        )


async def report(db: Database, who: Person, attribute: str, value: object, source: str) -> None:
    async with db.transaction() as session:
        session.add(
            AttributeFact(
                person_id=who.id,
                attribute=attribute,
                value=value,
                value_key=str(value).lower(),
                valid_from=TODAY - dt.timedelta(days=30),
                source_org=source,
                source_record_id=f"F-{uuid.uuid4().hex}",
                fingerprint="0" * 64,
            )
        )


async def entries_of(db: Database, client_id: str) -> list[DisclosureEntry]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(DisclosureEntry)
            .where(DisclosureEntry.client_id == client_id)
            .order_by(DisclosureEntry.id)
        )
        return list(rows)


async def headers_for(
    api: httpx.AsyncClient, db: Database, organisation: str, scopes: str | None = None
) -> tuple[dict, str]:
    credentials = await new_client(db, organisation=organisation, scopes=scopes)
    return await bearer(api, credentials), credentials.client_id


def verify_body(rrn: str, programme: str, *attributes: dict) -> dict:
    return {"subject": {"rrn": rrn}, "programme": programme, "attributes": list(attributes)}


BLS = {"attribute": "basic_livelihood.recipient"}


async def test_a_ministry_verifies_its_applicants_status_and_learns_nothing_else(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    recipient, other, unknown = await person(db, keys), await person(db, keys), new_rrn()
    await enrol(db, recipient, "MOHW-BLS-LIVELIHOOD", "MOHW")
    headers, client_id = await headers_for(api, db, "MCST")

    answers = []
    for rrn in (recipient.rrn, other.rrn, unknown):
        response = await api.post(
            "/v1/eligibility/verify",
            headers=headers,
            json=verify_body(rrn, "MCST-TRAVEL-VOUCHER", BLS),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["basis"] == "statute:ssba-eligibility-check"
        assert body["answers"][0]["source"] == "MOHW"
        assert set(body) == {"subject_ref", "as_of", "basis", "answers"}
        answers.append((body["answers"][0]["answer"], body["subject_ref"]))
    assert [a for a, _ in answers] == [True, False, "unknown"]
    assert answers[0][1].startswith("sr_")
    assert answers[2][1] is None
    for rrn in (recipient.rrn, other.rrn, unknown):
        assert rrn not in str(answers)

    logged = await entries_of(db, client_id)
    assert [e.decision for e in logged] == ["permit"] * 3
    assert {e.basis for e in logged} == {"statute:ssba-eligibility-check"}
    assert all(e.data_categories == ["status.basic_livelihood"] for e in logged)
    assert logged[0].subject_ref is not None
    assert logged[0].subject_ref.startswith("lsr_")
    assert logged[2].subject_ref is None


async def test_the_pseudonym_differs_between_organisations(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    who = await person(db, keys)
    refs = []
    for organisation, programme in (
        ("MCST", "MCST-TRAVEL-VOUCHER"),
        ("MOTIE", "MOTIE-ENERGY-VOUCHER"),
    ):
        headers, _ = await headers_for(api, db, organisation)
        response = await api.post(
            "/v1/eligibility/verify", headers=headers, json=verify_body(who.rrn, programme, BLS)
        )
        refs.append(response.json()["subject_ref"])
    assert refs[0] != refs[1]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (verify_body("{rrn}", "MOHW-BLS-LIVELIHOOD", BLS), 403, None),  # another ministry's
        (
            verify_body(
                "{rrn}", "MCST-TRAVEL-VOUCHER", {"attribute": "income.band", "at_most": 50}
            ),
            403,
            None,
        ),
        (verify_body("{rrn}", "MCST-NO-SUCH", BLS), 422, "body.programme"),
        (
            verify_body("{rrn}", "MCST-TRAVEL-VOUCHER", {"attribute": "no.such"}),
            422,
            "body.attributes[0].attribute",
        ),
        (
            verify_body(
                "{rrn}",
                "MCST-TRAVEL-VOUCHER",
                {"attribute": "basic_livelihood.recipient", "equals": "x"},
            ),
            422,
            "body.attributes[0]",
        ),
    ],
)
async def test_bad_requests_are_refused_clearly_and_logged(
    api: httpx.AsyncClient, db: Database, keys: KeySet, body: dict, status: int, field: str | None
) -> None:
    who = await person(db, keys)
    headers, client_id = await headers_for(api, db, "MCST")
    body = body | {"subject": {"rrn": who.rrn}}
    response = await api.post("/v1/eligibility/verify", headers=headers, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert who.rrn not in response.text
    if field:
        assert field in [e["field"] for e in problem["errors"]]
    logged = await entries_of(db, client_id)
    assert [e.decision for e in logged] == ["deny"]
    assert logged[0].basis is None


async def test_no_basis_is_refused_whoever_the_subject_is(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    """A welfare centre has no statute for enrolments: known or unknown person, the same 403."""
    who = await person(db, keys)
    await enrol(db, who, "MOHW-BLS-LIVELIHOOD", "MOHW")
    headers, client_id = await headers_for(api, db, "WC-ARA", "benefits:read")
    answers = []
    for rrn in (who.rrn, new_rrn()):
        response = await api.post(
            "/v1/eligibility/benefits",
            headers=headers,
            json={"subject": {"rrn": rrn}, "purpose": "benefit.administration"},
        )
        assert response.status_code == 403
        problem = response.json()
        answers.append((problem["detail"], problem["denial"], problem["refused"]))
    assert answers[0] == answers[1]
    assert answers[0][1] == "no_basis"
    assert [e.decision for e in await entries_of(db, client_id)] == ["deny", "deny"]


async def consent(
    db: Database,
    who: Person,
    *,
    recipients: list[str],
    purposes: list[str],
    categories: list[str],
    valid_until: dt.datetime | None = None,
    withdrawn: bool = False,
) -> str:
    now = utcnow()
    consent_id = f"cns_{uuid.uuid4().hex}"
    async with db.transaction() as session:
        session.add(
            ConsentRow(
                id=consent_id,
                person_id=who.id,
                controller="JEJU-ARA",
                recipients=recipients,
                purposes=purposes,
                data_categories=categories,
                valid_from=now - dt.timedelta(days=10),
                valid_until=valid_until,
                collection_method="written",
                form_sha256=hashlib.sha256(b"form").hexdigest(),
                given_at=now - dt.timedelta(days=10),
                recorded_at=now - dt.timedelta(days=10),
                recorded_by="test",
                withdrawn_at=now - dt.timedelta(days=1) if withdrawn else None,
                withdrawal_reason="the person withdrew" if withdrawn else None,
            )
        )
    return consent_id


@pytest.mark.parametrize(
    ("kind", "denial"),
    [
        ("active", None),
        ("withdrawn", "consent_withdrawn"),
        ("expired", "consent_expired"),
        ("other_recipient", "recipient_not_named"),
    ],
)
async def test_a_welfare_centre_sees_benefits_only_while_its_consent_stands(
    api: httpx.AsyncClient, db: Database, keys: KeySet, kind: str, denial: str | None
) -> None:
    who = await person(db, keys)
    await enrol(db, who, "MOHW-BLS-LIVELIHOOD", "MOHW")
    await enrol(db, who, "MOHW-CHILDCARE-FEE", "MOHW", status="ended")
    consent_id = await consent(
        db,
        who,
        recipients=["WC-NOWON"] if kind == "other_recipient" else ["WC-ARA"],
        purposes=["benefit.administration"],
        categories=["benefit.enrolment"],
        valid_until=utcnow() - dt.timedelta(hours=1) if kind == "expired" else None,
        withdrawn=kind == "withdrawn",
    )
    headers, client_id = await headers_for(api, db, "WC-ARA", "benefits:read")
    response = await api.post(
        "/v1/eligibility/benefits",
        headers=headers,
        json={"subject": {"rrn": who.rrn}, "purpose": "benefit.administration"},
    )
    logged = await entries_of(db, client_id)
    if denial is None:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["basis"] == f"consent:{consent_id}"
        assert [i["programme"] for i in body["items"]] == ["MOHW-BLS-LIVELIHOOD"]
        assert "amount_won" not in body["items"][0]
        assert logged[-1].basis == f"consent:{consent_id}"
    else:
        assert response.status_code == 403
        assert response.json()["denial"] == denial
        assert consent_id not in response.text  # the caller is not told which consents exist
        assert logged[-1].decision == "deny"
        assert consent_id in logged[-1].reason  # the auditor is


async def test_a_withdrawal_takes_effect_on_the_very_next_request(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    who = await person(db, keys)
    consent_id = await consent(
        db,
        who,
        recipients=["WC-ARA"],
        purposes=["benefit.administration"],
        categories=["benefit.enrolment"],
    )
    headers, _ = await headers_for(api, db, "WC-ARA", "benefits:read")
    body = {"subject": {"rrn": who.rrn}, "purpose": "benefit.administration"}
    assert (
        await api.post("/v1/eligibility/benefits", headers=headers, json=body)
    ).status_code == 200
    async with db.transaction() as session:
        row = await session.get(ConsentRow, consent_id)
        row.withdrawn_at = utcnow()
        row.withdrawal_reason = "withdrawn"
    refused = await api.post("/v1/eligibility/benefits", headers=headers, json=body)
    assert refused.status_code == 403
    assert refused.json()["denial"] == "consent_withdrawn"


async def test_recommendations_are_programmes_the_person_appears_to_qualify_for(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    household = f"H-{uuid.uuid4().hex}"
    elder = await person(db, keys, born=dt.date(1950, 3, 1), household=household)
    await enrol(db, elder, "MOHW-BLS-LIVELIHOOD", "MOHW")
    headers, client_id = await headers_for(api, db, "NOWON")
    response = await api.post(
        "/v1/eligibility/recommend", headers=headers, json={"subject": {"rrn": elder.rrn}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["basis"] == "statute:ssba-discovery"
    items = {i["programme"]: i for i in body["items"]}
    assert "MOHW-BLS-LIVELIHOOD" not in items  # already received
    assert items["MOHW-ELDERLY-CARE-BASIC"]["meets"]  # 65 or over and a recipient
    assert "MCST-TRAVEL-VOUCHER" in items
    assert all(i["meets"] for i in body["items"])
    assert all(not i["programme"].startswith("PRIV-") for i in body["items"])
    assert "MOHW-CHILDCARE-FEE" not in items  # nobody in the household is a small child
    logged = await entries_of(db, client_id)
    assert logged[-1].basis == "statute:ssba-discovery"
    assert logged[-1].decision == "permit"


@pytest.fixture
async def failing_log_api(fresh_database_url: str, keys_file) -> AsyncIterator[tuple]:  # type: ignore[no-untyped-def]
    settings = make_settings(fresh_database_url, keys_file)
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        database = Database(settings.database)
        async with asgi_client(application) as client:
            yield client, database
        await database.dispose()


async def test_no_answer_is_released_when_the_log_cannot_be_written(
    failing_log_api: tuple, keys: KeySet
) -> None:
    api, db = failing_log_api
    who = await person(db, keys)
    await enrol(db, who, "MOHW-BLS-LIVELIHOOD", "MOHW")
    headers, _ = await headers_for(api, db, "MCST")
    await refuse_log_inserts(db)
    response = await api.post(
        "/v1/eligibility/verify",
        headers=headers,
        json=verify_body(who.rrn, "MCST-TRAVEL-VOUCHER", BLS),
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    for released in ("answers", "basis", "subject_ref", "sr_"):
        assert released not in response.text


@pytest.mark.parametrize("purpose", ["no.such_purpose", "audit.oversight"])
async def test_a_purpose_benefits_are_not_answered_for_is_refused_and_logged(
    api: httpx.AsyncClient, db: Database, keys: KeySet, purpose: str
) -> None:
    who = await person(db, keys)
    headers, client_id = await headers_for(api, db, "MOHW")
    response = await api.post(
        "/v1/eligibility/benefits",
        headers=headers,
        json={"subject": {"rrn": who.rrn}, "purpose": purpose},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.purpose"
    logged = await entries_of(db, client_id)
    assert [e.decision for e in logged] == ["deny"]
