"""POST/GET/PATCH /v1/cases over HTTP, on both databases: a case through all ten stages with
its deadlines, the overdue list, the stage rules as 409s naming the rule with nothing half
applied, case numbers per organisation and year, idempotent opening, bad input as 422
problems, and nothing released when the disclosure log cannot be written."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hub.cases.models import Case, CaseNote
from hub.database import Database
from hub.kit.clock import utcnow
from hub.vault import KeySet
from tests.cases.support import (
    TODAY,
    consent,
    entries,
    move,
    open_case,
    org,
    patch,
    person,
    through_to,
)
from tests.duplicates.test_api_check import app_and_database
from tests.factories import new_rrn, refuse_log_inserts

D = dt.timedelta


async def lead_with_case(
    api: httpx.AsyncClient, db: Database, keys: KeySet, discovered_on: dt.date = TODAY
) -> tuple:
    lead = await org(api, db, "local_government")
    who = await person(db, keys)
    await consent(api, lead, who, [lead.code], ["case.record", "case.needs"])
    return lead, who, await open_case(api, lead, who, discovered_on)


async def test_a_case_goes_through_all_ten_stages_and_meets_its_deadlines(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    start = TODAY - D(days=100)
    lead, who, case = await lead_with_case(api, db, keys, start)
    assert case["number"] == f"{lead.code}-{TODAY.year}-00001"
    assert case["stage"] == "discovery"
    assert case["stage_ko"] == "발굴"
    assert case["subject_ref"].startswith("sr_")
    assert who.rrn not in str(case)
    assert case["deadlines"][0]["rule"] == "initial-consultation-within-5-days"
    assert case["next_due"] == (start + D(days=5)).isoformat()

    served = await through_to(api, lead, case["id"], "service", start)
    assert served["stage"] == "service"
    assert served["needs"]["scores"]["economy"] == 5
    assert served["plan_version"] == 2
    assert all(i["approved_by"] for i in served["plan"])
    noted = await patch(api, lead, case["id"], {"notes": [{"text": "주 2회 방문, 식사 양호"}]})
    assert noted.status_code == 200, noted.text
    assert [n["text"] for n in noted.json()["notes"]] == ["주 2회 방문, 식사 양호"]

    closed_on = start + D(days=60)
    closed = await move(api, lead, case["id"], "closure", closed_on, closure_code="goal_met")
    assert closed["closure_code"] == "goal_met"
    followed = await move(api, lead, case["id"], "follow_up", TODAY)
    assert [s["stage"] for s in followed["history"]] == [
        "discovery",
        "initial_consultation",
        "intake",
        "assessment",
        "conference",
        "classification",
        "planning",
        "service",
        "closure",
        "follow_up",
    ]
    assert [s["name_ko"] for s in followed["history"]][-2:] == ["종결", "사후확인"]
    deadlines = {d["rule"]: d for d in followed["deadlines"]}
    assert all(not d["overdue"] for d in deadlines.values())
    assert (
        deadlines["initial-consultation-within-5-days"]["met_on"] == (start + D(days=2)).isoformat()
    )
    plan_due = min(start + D(days=4 + 30), start + D(days=10 + 15))  # intake, classification
    assert deadlines["plan-within-30-days-of-intake"]["due"] == plan_due.isoformat()
    second = deadlines["follow-up-2-at-12-months"]
    assert second["met_on"] is None
    assert (
        followed["next_due"]
        == second["due"]
        == closed_on.replace(year=closed_on.year + 1).isoformat()
    )
    assert {e.action for e in await entries(db, lead.client_id, "permit")} >= {
        "case.create",
        "case.update",
    }


async def test_overdue_lists_only_cases_past_a_deadline(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    lead = await org(api, db, "local_government")
    late_person, fresh_person = await person(db, keys), await person(db, keys)
    for who in (late_person, fresh_person):
        await consent(api, lead, who, [lead.code], ["case.record"])
    late = await open_case(api, lead, late_person, TODAY - D(days=30))
    fresh = await open_case(api, lead, fresh_person, TODAY)
    assert [d["overdue"] for d in late["deadlines"]] == [True]

    overdue = await api.get("/v1/cases", headers=lead.headers, params={"overdue": "true"})
    assert overdue.status_code == 200, overdue.text
    assert [c["id"] for c in overdue.json()["items"]] == [late["id"]]
    on_time = await api.get("/v1/cases", headers=lead.headers, params={"overdue": "false"})
    assert [c["id"] for c in on_time.json()["items"]] == [fresh["id"]]

    await move(api, lead, late["id"], "initial_consultation", TODAY - D(days=2))
    assert (await api.get("/v1/cases?overdue=true", headers=lead.headers)).json()["items"] == []


async def test_the_list_pages_by_cursor_and_logs_each_case_shown(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    lead = await org(api, db, "welfare_centre")
    opened = []
    for _ in range(3):
        who = await person(db, keys)
        await consent(api, lead, who, [lead.code], ["case.record"])
        opened.append((await open_case(api, lead, who))["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/cases", headers=lead.headers, params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == opened[::-1]
    assert len([e for e in await entries(db, lead.client_id) if e.action == "case.list"]) == 3
    bad = await api.get("/v1/cases", headers=lead.headers, params={"cursor": "nope"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(
    ("reach", "body", "rule"),
    [
        ("intake", {"stage": {"to": "closure", "on": "@"}}, "closure-needs-code"),
        ("intake", {"stage": {"to": "conference", "on": "@"}}, "assessment-not-skipped"),
        (
            "intake",
            {"stage": {"to": "closure", "on": "@", "closure_code": "goal_met"}},
            "goal-closure-after-service",
        ),
        ("assessment", {"stage": {"to": "conference", "on": "@"}}, "conference-needs-assessment"),
        (
            "conference",
            {"stage": {"to": "classification", "on": "@"}},
            "classification-needs-household-class",
        ),
        ("conference", {"household_class": "not_selected"}, "not-selected-needs-reason"),
        (
            "classification",
            {"stage": {"to": "planning", "on": "@"}},
            "planning-needs-plan-items",
        ),
        (
            "planning",
            {"stage": {"to": "service", "on": "@"}},
            "service-needs-approved-plan",
        ),
        ("intake", {"stage": {"to": "follow_up", "on": "@"}}, "follow-up-after-closure"),
    ],
)
async def test_a_broken_stage_rule_is_a_409_naming_it_and_nothing_is_kept(
    api: httpx.AsyncClient, db: Database, keys: KeySet, reach: str, body: dict, rule: str
) -> None:
    start = TODAY - D(days=40)
    lead, _, case = await lead_with_case(api, db, keys, start)
    before = await through_to(api, lead, case["id"], reach, start)
    if "stage" in body:
        body = body | {"stage": body["stage"] | {"on": TODAY.isoformat()}}
    note = {"text": "이 메모는 남지 않는다"}
    response = await patch(api, lead, case["id"], body | {"notes": [note]})
    assert response.status_code == 409, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:hub:problem:case-rule-broken"
    assert problem["rule"] == rule
    assert rule in problem["detail"]
    after = (await api.get(f"/v1/cases/{case['id']}", headers=lead.headers)).json()
    assert after["stage"] == before["stage"]
    assert after["notes"] == before["notes"]


async def test_changing_the_plan_in_effect_needs_the_consent_again(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    start = TODAY - D(days=40)
    lead, who, case = await lead_with_case(api, db, keys, start)
    await through_to(api, lead, case["id"], "service", start)
    new_plan = {"plan": [{"goal": "g", "provider": "p", "content": "c", "frequency": "f"}]}
    refused = await patch(api, lead, case["id"], new_plan)
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "plan-change-needs-renewed-consent"
    await consent(api, lead, who, [lead.code], ["case.record"], given_at=utcnow())
    changed = await patch(api, lead, case["id"], new_plan)
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan_version"] == 3


async def test_case_numbers_count_per_organisation_without_gaps_under_concurrency(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    lead = await org(api, db, "local_government")
    persons = [await person(db, keys) for _ in range(6)]
    for who in persons:
        await consent(api, lead, who, [lead.code], ["case.record"])
    answers = await asyncio.gather(
        *(
            api.post(
                "/v1/cases",
                headers=lead.headers,
                json={"subject": {"rrn": who.rrn}, "discovered_on": TODAY.isoformat()},
            )
            for who in persons
        )
    )
    assert [a.status_code for a in answers] == [201] * 6
    numbers = sorted(a.json()["number"] for a in answers)
    assert numbers == [f"{lead.code}-{TODAY.year}-{n:05d}" for n in range(1, 7)]
    again = await api.post(
        "/v1/cases",
        headers=lead.headers,
        json={"subject": {"rrn": persons[0].rrn}, "discovered_on": TODAY.isoformat()},
    )
    assert again.status_code == 409
    assert again.json()["rule"] == "one-open-case-per-organisation"


async def test_opening_needs_a_consent_naming_the_caller_and_is_idempotent_by_key(
    api: httpx.AsyncClient, db: Database, keys: KeySet
) -> None:
    lead = await org(api, db, "welfare_centre")
    other = await org(api, db, "local_government")
    who = await person(db, keys)
    body = {"subject": {"rrn": who.rrn}, "discovered_on": TODAY.isoformat()}
    for subject in (who.rrn, new_rrn()):  # known without consent, and unknown: the same 403
        refused = await api.post(
            "/v1/cases", headers=lead.headers, json=body | {"subject": {"rrn": subject}}
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["denial"] == "no_basis"
    await consent(api, other, who, [other.code], ["case.record"])  # names someone else
    refused = await api.post("/v1/cases", headers=lead.headers, json=body)
    assert refused.json()["denial"] == "recipient_not_named"
    assert len(await entries(db, lead.client_id, "deny")) == 3

    await consent(api, other, who, [lead.code], ["case.record"])
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = await api.post("/v1/cases", headers=lead.headers | key, json=body)
    again = await api.post("/v1/cases", headers=lead.headers | key, json=body)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert first.headers["location"] == f"/v1/cases/{first.json()['id']}"
    changed = await api.post(
        "/v1/cases", headers=lead.headers | key, json=body | {"discovered_on": "2025-01-02"}
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "header.Idempotency-Key"
    listed = (await api.get("/v1/cases", headers=lead.headers)).json()
    assert [c["id"] for c in listed["items"]] == [first.json()["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stage": {"to": "nowhere", "on": "2025-01-01"}}, "body.stage.to"),
        ({"needs": {"scores": {"safety": 6}, "crisis_level": "high"}}, "body.needs.scores.safety"),
        (
            {
                "needs": {
                    "scores": {"safety": 1},
                    "crisis_level": "high",
                    "assessed_on": "2025-01-01",
                }
            },
            "body.needs",
        ),
        ({"notes": [{"text": "x", "category": "case.needs"}]}, "body.notes.0.category"),
        (
            {
                "plan": [
                    {
                        "goal": "g",
                        "provider": "p",
                        "content": "c",
                        "frequency": "f",
                        "approved_by": "a",
                    }
                ]
            },
            "body.plan.0",
        ),
        ({}, "body"),
        ({"surprise": 1}, "body.surprise"),
        (
            {"stage": {"to": "initial_consultation", "on": (TODAY + D(days=9)).isoformat()}},
            "body.stage.on",
        ),
    ],
)
async def test_bad_changes_are_422_problems_naming_the_field(
    api: httpx.AsyncClient, db: Database, keys: KeySet, body: dict, field: str
) -> None:
    lead, who, case = await lead_with_case(api, db, keys)
    response = await patch(api, lead, case["id"], body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    assert who.rrn not in response.text


async def test_a_bad_subject_is_a_422_without_the_digits(
    api: httpx.AsyncClient, db: Database
) -> None:
    lead = await org(api, db, "welfare_centre")
    response = await api.post(
        "/v1/cases",
        headers=lead.headers,
        json={"subject": {"rrn": "901301-1234567"}, "discovered_on": TODAY.isoformat()},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.subject.rrn"
    assert "901301" not in response.text


@pytest.fixture
async def failing_log_api(fresh_database_url: str, keys_file: Path) -> AsyncIterator[tuple]:
    async with app_and_database(fresh_database_url, keys_file) as pair:
        yield pair


async def test_nothing_is_released_when_the_log_cannot_be_written(
    failing_log_api: tuple, keys: KeySet
) -> None:
    api, db = failing_log_api
    lead, _who, case = await lead_with_case(api, db, keys)
    other = await person(db, keys)
    await consent(api, lead, other, [lead.code], ["case.record"])
    await refuse_log_inserts(db)
    for response in (
        await api.get(f"/v1/cases/{case['id']}", headers=lead.headers),
        await api.get(f"/v1/cases/{case['id']}/conference-pack", headers=lead.headers),
        await patch(api, lead, case["id"], {"notes": [{"text": "기록"}]}),
        await api.post(
            "/v1/cases",
            headers=lead.headers,
            json={"subject": {"rrn": other.rrn}, "discovered_on": TODAY.isoformat()},
        ),
    ):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:hub:problem:disclosure-log-unavailable"
        assert case["number"] not in response.text
        assert "subject_ref" not in response.text
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CaseNote)) == 0
        assert await session.scalar(select(func.count()).select_from(Case)) == 1
