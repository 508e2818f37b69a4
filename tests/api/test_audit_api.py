"""The disclosure log over HTTP, on both databases: auditors list, filter, page, search by
subject and export it; every such query is itself logged; others are refused and the refusal
is logged; a person's disclosure history goes to auditors and to a body that serves them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.database import Database
from schemas.disclosure import Decision
from tests.api.audit_support import (
    all_pages,
    auditor_headers,
    disclosure,
    enrol,
    local_government,
    new_person,
    org_code,
    record,
    sequence,
)
from tests.api.test_problems import assert_problem
from tests.factories import bearer, new_client, new_rrn

LIST = "/v1/audit/disclosures"


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["entry_id"] for item in items]


async def test_list_filters_by_organisation_purpose_decision_and_time(
    api: httpx.AsyncClient, db: Database
) -> None:
    _, headers = await auditor_headers(api, db)
    org = org_code()
    base = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    entries = [
        disclosure(org, recorded_at=base),
        disclosure(org, recorded_at=base + dt.timedelta(hours=1), purpose="duplicate.prevention"),
        disclosure(
            org,
            recorded_at=base + dt.timedelta(hours=2),
            decision=Decision.DENY,
            basis=None,
            data_categories=(),
            fields=(),
            reason="No basis.",
        ),
        disclosure(org, recorded_at=base + dt.timedelta(days=3)),
    ]
    first, second, denied, late = await record(db, *entries)

    async def listed(**params: Any) -> list[int]:
        return ids(await all_pages(api, headers, organisation=org, **params))

    assert await listed() == [late, denied, second, first]
    assert await listed(purpose="duplicate.prevention") == [second]
    assert await listed(decision="deny") == [denied]
    assert await listed(decision="permit") == [late, second, first]
    window = {"from": base.isoformat(), "until": (base + dt.timedelta(hours=2)).isoformat()}
    assert await listed(**window) == [second, first]  # from inclusive, until exclusive
    assert await listed(**{"from": (base + dt.timedelta(days=1)).isoformat()}) == [late]

    # Each filter alone also holds over the whole shared log.
    for params, key, value in [
        ({"purpose": "duplicate.prevention"}, "purpose", "duplicate.prevention"),
        ({"decision": "deny"}, "decision", "deny"),
    ]:
        page = (await api.get(LIST, params=params | {"limit": 500}, headers=headers)).json()
        assert page["items"]
        assert all(item[key] == value for item in page["items"])
    alone = await all_pages(api, headers, **window)
    assert set(ids(alone)) >= {first, second}
    assert all(
        base <= dt.datetime.fromisoformat(item["recorded_at"]) < base + dt.timedelta(hours=2)
        for item in alone
    )


async def test_entries_show_everything_recorded_and_their_leaf_index(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    _, headers = await auditor_headers(api, db)
    org = org_code()
    entry = disclosure(org, subject_ref="lsr_" + "a" * 32)
    [entry_id] = await record(db, entry)
    [item] = await all_pages(api, headers, organisation=org)
    recorded_at = item.pop("recorded_at")
    leaf_index = item.pop("leaf_index")  # None until sequenced (a sequencer may run meanwhile)
    assert leaf_index is None or leaf_index >= 0
    expected = entry.model_dump(mode="json")
    del expected["recorded_at"]
    assert item == {"entry_id": entry_id, **expected}
    assert dt.datetime.fromisoformat(recorded_at) == entry.recorded_at

    await sequence(app)
    [sequenced] = await all_pages(api, headers, organisation=org)
    assert isinstance(sequenced["leaf_index"], int)


async def test_pages_walk_every_entry_once(api: httpx.AsyncClient, db: Database) -> None:
    _, headers = await auditor_headers(api, db)
    org = org_code()
    recorded = await record(db, *(disclosure(org) for _ in range(23)))
    pages, cursor = [], None
    while True:
        params = {"organisation": org, "limit": 5} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(LIST, params=params, headers=headers)).json()
        pages.append(ids(page["items"]))
        assert page["count"] == len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # Entries recorded during the walk (ours are newer) never disturb it.
        await record(db, disclosure(org))
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    walked = [i for p in pages for i in p]
    assert walked == sorted(recorded, reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"cursor": "ZTA"}, "query.cursor"),
        ({"decision": "maybe"}, "query.decision"),
        ({"purpose": "Not A Purpose"}, "query.purpose"),
        ({"organisation": "lower"}, "query.organisation"),
        ({"from": "2024-01-01T00:00:00"}, "query.from"),
        ({"from": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "query.until"),
    ],
)
async def test_bad_parameters_are_422_naming_them(
    api: httpx.AsyncClient, db: Database, params: dict[str, Any], field: str
) -> None:
    _, headers = await auditor_headers(api, db)
    body = assert_problem(await api.get(LIST, params=params, headers=headers), 422, "invalid-input")
    assert [e["field"] for e in body["errors"]] == [field]


async def test_search_by_subject_finds_exactly_that_persons_entries(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    auditor, headers = await auditor_headers(api, db)
    one, two = await new_person(app, db), await new_person(app, db)
    org = org_code()
    of_one = await record(
        db,
        disclosure(org, subject_ref=one.log_ref),
        disclosure(org, subject_ref=one.log_ref, decision=Decision.DENY, basis=None),
        disclosure(org_code(), subject_ref=one.log_ref),
    )
    await record(db, disclosure(org, subject_ref=two.log_ref), disclosure(org))

    response = await api.post(f"{LIST}/search", json={"subject": {"rrn": one.rrn}}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert ids(page["items"]) == sorted(of_one, reverse=True)
    assert {item["subject_ref"] for item in page["items"]} == {one.log_ref}
    assert one.rrn not in response.text

    paged = await api.post(
        f"{LIST}/search", json={"subject": {"rrn": one.rrn}, "limit": 2}, headers=headers
    )
    rest = await api.post(
        f"{LIST}/search",
        json={"subject": {"rrn": one.rrn}, "limit": 2, "cursor": paged.json()["next_cursor"]},
        headers=headers,
    )
    walked = paged.json()["items"] + rest.json()["items"]
    # The first search is itself an entry about the person, now the newest of their entries.
    assert (walked[0]["action"], walked[0]["organisation"]) == ("audit.disclosures.search", auditor)
    assert ids(walked[1:]) == ids(page["items"])

    unknown = await api.post(
        f"{LIST}/search", json={"subject": {"rrn": new_rrn()}}, headers=headers
    )
    assert unknown.status_code == 200
    assert unknown.json() == {"items": [], "count": 0, "next_cursor": None}

    # The search is logged about the person (so their own report shows it), without the RRN.
    logged = await all_pages(api, headers, organisation=auditor)
    searches = [item for item in logged if item["action"] == "audit.disclosures.search"]
    assert [s["subject_ref"] for s in searches] == [None] + [one.log_ref] * 3
    assert all(one.rrn not in str(s) for s in searches)


async def test_search_refuses_a_malformed_rrn_without_echoing_it(
    api: httpx.AsyncClient, db: Database
) -> None:
    _, headers = await auditor_headers(api, db)
    response = await api.post(
        f"{LIST}/search", json={"subject": {"rrn": "991399-1234567"}}, headers=headers
    )
    body = assert_problem(response, 422, "invalid-input")
    assert [e["field"] for e in body["errors"]] == ["body.subject.rrn"]
    assert "1234567" not in response.text


async def test_csv_export_matches_the_json_list(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    _, headers = await auditor_headers(api, db)
    org = org_code()
    await record(
        db,
        disclosure(org, subject_ref="lsr_" + "b" * 32, reason='Quoted "reason", with comma'),
        disclosure(org, decision=Decision.DENY, basis=None, data_categories=(), fields=()),
        *(disclosure(org, actor=None) for _ in range(3)),
    )
    await sequence(app)  # leaf indices settle, so the two reads see the same values
    listed = await all_pages(api, headers, organisation=org, limit=2)
    response = await api.get(f"{LIST}/export", params={"organisation": org}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))

    def as_csv(item: dict[str, Any]) -> dict[str, str]:
        return {
            key: " ".join(value) if isinstance(value, list) else "" if value is None else str(value)
            for key, value in item.items()
        }

    assert rows == [as_csv(item) for item in listed]
    assert len(rows) == 5


async def test_others_are_refused_and_the_refusal_is_logged(
    api: httpx.AsyncClient, db: Database
) -> None:
    _, auditor = await auditor_headers(api, db)
    ministry = await new_client(db, kind="ministry")
    without_scope = await bearer(api, ministry)
    body = assert_problem(await api.get(LIST, headers=without_scope), 403, "insufficient-scope")
    assert "audit:read" in body["detail"]
    granted = await new_client(db, organisation=ministry.organisation, scopes="audit:read")
    with_scope = await bearer(api, granted) | {"Hub-Actor": "clerk-9"}
    assert_problem(await api.get(LIST, headers=with_scope), 403, "forbidden")
    assert_problem(await api.get(f"{LIST}/export", headers=with_scope), 403, "forbidden")
    assert_problem(
        await api.post(f"{LIST}/search", json={"subject": {"rrn": new_rrn()}}, headers=with_scope),
        403,
        "forbidden",
    )
    assert_problem(await api.get("/v1/audit/checkpoint", headers=with_scope), 403, "forbidden")

    refusals = await all_pages(api, auditor, organisation=ministry.organisation)
    assert [(r["action"], r["client_id"], r["actor"]) for r in reversed(refusals)] == [
        ("audit.disclosures.list", ministry.client_id, None),
        ("audit.disclosures.list", granted.client_id, "clerk-9"),
        ("audit.disclosures.export", granted.client_id, "clerk-9"),
        ("audit.disclosures.search", granted.client_id, "clerk-9"),
        ("audit.checkpoint.read", granted.client_id, "clerk-9"),
    ]
    for refusal in refusals:
        assert refusal["decision"] == "deny"
        assert refusal["purpose"] == "audit.oversight"
        assert refusal["basis"] is None
        assert refusal["data_categories"] == refusal["fields"] == []
        assert refusal["subject_ref"] is None


async def test_unauthenticated_calls_are_401(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get(LIST), 401, "unauthenticated")
    assert_problem(await api.post("/v1/audit/subject-report", json={}), 401, "unauthenticated")


async def test_auditor_queries_are_logged(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    auditor, headers = await auditor_headers(api, db)
    headers |= {"Hub-Actor": "inspector-1"}
    org = org_code()
    await record(db, disclosure(org, subject_ref="lsr_" + "c" * 32), disclosure(org))
    listed = await api.get(LIST, params={"organisation": org}, headers=headers)
    denied = await api.get(LIST, params={"organisation": org, "decision": "deny"}, headers=headers)
    exported = await api.get(
        f"{LIST}/export", params={"purpose": "case.management"}, headers=headers
    )
    assert exported.status_code == 200

    own = list(reversed(await all_pages(api, headers, organisation=auditor)))
    assert [e["action"] for e in own[:3]] == ["audit.disclosures.list"] * 2 + [
        "audit.disclosures.export"
    ]
    first, second, export = own[:3]
    assert first["request_id"] == listed.headers["x-request-id"]
    assert second["request_id"] == denied.headers["x-request-id"]
    for entry in (first, second, export):
        assert entry["decision"] == "permit"
        assert entry["purpose"] == "audit.oversight"
        assert entry["basis"] in ("statute:baia-audit", "statute:pipa-63-oversight")
        assert entry["actor"] == "inspector-1"
        assert entry["rule_set_hash"] == app.state.catalogue.hash
        assert entry["subject_ref"] is None
    # Subject pseudonyms were shown on the first page only.
    assert first["data_categories"] == ["audit.disclosure", "identity.pseudonym"]
    assert second["data_categories"] == ["audit.disclosure"]
    assert "subject_ref" not in second["fields"]
    assert f"organisation={org}" in first["reason"]
    assert "purpose=case.management" in export["reason"]


# --- Subject report -----------------------------------------------------------------------------

REPORT = "/v1/audit/subject-report"


async def test_subject_report_for_an_auditor(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    auditor, headers = await auditor_headers(api, db)
    person, other = await new_person(app, db), await new_person(app, db)
    ministry, district = org_code(), org_code()
    await record(
        db,
        disclosure(ministry, subject_ref=person.log_ref, actor="clerk-1"),
        disclosure(district, subject_ref=other.log_ref),
        disclosure(
            district,
            subject_ref=person.log_ref,
            purpose="case.management",
            basis=None,
            decision=Decision.DENY,
            data_categories=(),
            fields=(),
        ),
    )
    body = {"subject": {"rrn": person.rrn}, "purpose": "audit.oversight"}
    response = await api.post(REPORT, json=body, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["purpose"] == "audit.oversight"
    assert report["basis"] == "statute:baia-audit"
    assert [(i["organisation"], i["purpose"], i["decision"]) for i in report["items"]] == [
        (ministry, "eligibility.verification", "permit"),
        (district, "case.management", "deny"),
    ]
    first = report["items"][0]
    assert first["actor"] == "clerk-1"
    assert first["basis"] == "statute:ssba-eligibility-check"
    assert first["data_categories"] == ["identity.pseudonym", "status.disability"]
    assert report["count"] == 2
    assert person.log_ref not in response.text
    assert person.rrn not in response.text

    [logged] = [
        e
        for e in await all_pages(api, headers, organisation=auditor)
        if e["action"] == "audit.subject_report"
    ]
    assert logged["subject_ref"] == person.log_ref
    assert logged["decision"] == "permit"
    assert logged["basis"] == "statute:baia-audit"
    assert logged["data_categories"] == ["audit.disclosure"]

    unknown = await api.post(
        REPORT, json={"subject": {"rrn": new_rrn()}, "purpose": "audit.oversight"}, headers=headers
    )
    assert unknown.status_code == 200
    assert unknown.json()["items"] == []


async def test_subject_report_for_a_serving_local_government(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    _, auditor = await auditor_headers(api, db)
    person = await new_person(app, db)
    serving = await local_government(db)
    await enrol(db, person, serving)
    await record(db, disclosure(org_code(), subject_ref=person.log_ref))
    credentials = await new_client(db, organisation=serving)
    assert "subjects:report" in credentials.scopes.split()
    headers = await bearer(api, credentials)
    body = {"subject": {"rrn": person.rrn}, "purpose": "subject.access"}
    response = await api.post(REPORT, json=body, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["basis"] == "statute:pipa-35-subject-access"
    assert len(report["items"]) == 1

    # The same body may not use the auditors' purpose: it needs audit:read, checked first.
    wrong = await api.post(REPORT, json=body | {"purpose": "audit.oversight"}, headers=headers)
    assert_problem(wrong, 403, "insufficient-scope")

    logged = await all_pages(api, auditor, organisation=serving)
    assert [(e["action"], e["decision"], e["purpose"]) for e in reversed(logged)] == [
        ("audit.subject_report", "permit", "subject.access"),
        ("audit.subject_report", "deny", "audit.oversight"),
    ]
    assert {e["subject_ref"] for e in logged} == {person.log_ref}


async def test_subject_report_refused_for_an_organisation_not_serving_the_person(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    _, auditor = await auditor_headers(api, db)
    person = await new_person(app, db)
    await enrol(db, person, await local_government(db))
    other = await local_government(db)
    headers = await bearer(api, await new_client(db, organisation=other))
    body = {"subject": {"rrn": person.rrn}, "purpose": "subject.access"}
    refused = assert_problem(await api.post(REPORT, json=body, headers=headers), 403, "forbidden")
    unknown = await api.post(
        REPORT, json={"subject": {"rrn": new_rrn()}, "purpose": "subject.access"}, headers=headers
    )
    # An unknown person is refused in the same words: no hint whether the person exists.
    assert assert_problem(unknown, 403, "forbidden")["detail"] == refused["detail"]

    logged = list(reversed(await all_pages(api, auditor, organisation=other)))
    assert [(e["action"], e["decision"], e["subject_ref"]) for e in logged] == [
        ("audit.subject_report", "deny", person.log_ref),
        ("audit.subject_report", "deny", None),
    ]
    assert logged[0]["reason"] == refused["detail"]


async def test_subject_report_needs_the_scope_and_a_basis(
    api: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    person = await new_person(app, db)
    body = {"subject": {"rrn": person.rrn}, "purpose": "subject.access"}
    serving = await local_government(db)
    await enrol(db, person, serving)
    no_scope = await bearer(api, await new_client(db, organisation=serving, scopes="cases:read"))
    assert_problem(await api.post(REPORT, json=body, headers=no_scope), 403, "insufficient-scope")
    ministry = await bearer(api, await new_client(db, kind="ministry"))
    # Without subjects:report the scope is what is missing (function level, checked first);
    # with it, a ministry still has no basis for subject.access (object level).
    assert_problem(await api.post(REPORT, json=body, headers=ministry), 403, "insufficient-scope")
    scoped = await bearer(api, await new_client(db, kind="ministry", scopes="subjects:report"))
    assert_problem(await api.post(REPORT, json=body, headers=scoped), 403, "forbidden")
    unknown_purpose = await api.post(
        REPORT, json=body | {"purpose": "no.such_purpose"}, headers=ministry
    )
    problem = assert_problem(unknown_purpose, 422, "invalid-input")
    assert [e["field"] for e in problem["errors"]] == ["body.purpose"]
