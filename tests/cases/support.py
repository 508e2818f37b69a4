"""Builders for the case tests: organisations with clients, persons, consents recorded over
the consents API, cases driven through their stages, and the disclosure entries of a client."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from audit.models import DisclosureEntry
from hub.database import Database
from hub.kit.clock import utcnow
from hub.organisations import service as organisations
from hub.records.repository import NewPerson, add_person
from hub.vault import KeySet
from schemas.identifiers import parse_rrn
from tests.factories import bearer, new_client, new_rrn

FORM = hashlib.sha256(b"signed consent form").hexdigest()
SCOPES = "cases:read cases:write consents:write"
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
SCORES = {
    "safety": 2,
    "health": 4,
    "daily_living": 3,
    "family_relations": 2,
    "social_relations": 3,
    "economy": 5,
    "education": 1,
    "employment": 4,
    "living_environment": 3,
    "legal_rights": 1,
}


@dataclass(frozen=True)
class Org:
    code: str
    client_id: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Person:
    rrn: str
    id: uuid.UUID
    name: str


async def org(api: httpx.AsyncClient, db: Database, kind: str, scopes: str = SCOPES) -> Org:
    """A fresh organisation of `kind` in 제주시 with a client holding `scopes`."""
    code = f"T{secrets.token_hex(4).upper()}"
    async with db.transaction() as session:
        await organisations.add(
            session,
            code=code,
            kind=kind,
            name_ko="시험 기관",
            name_en="Test body",
            region_code="50110",
        )
    credentials = await new_client(db, organisation=code, scopes=scopes)
    return Org(credentials.organisation, credentials.client_id, await bearer(api, credentials))


async def person(
    db: Database, keys: KeySet, name: str = "김하나", household: str | None = None
) -> Person:
    rrn = new_rrn()
    async with db.transaction() as session:
        row = await add_person(
            session,
            keys,
            NewPerson(parse_rrn(rrn), name, region_code="50110", household_id=household),
        )
        return Person(rrn, row.id, name)


async def consent(
    api: httpx.AsyncClient,
    controller: Org,
    who: Person,
    recipients: list[str],
    categories: list[str],
    given_at: dt.datetime | None = None,
) -> str:
    """A written consent the controller collected, naming `recipients` for case management."""
    response = await api.post(
        "/v1/consents",
        headers=controller.headers,
        json={
            "subject": {"rrn": who.rrn},
            "recipients": recipients,
            "purposes": ["case.management"],
            "data_categories": categories,
            "collection_method": "written",
            "form_sha256": FORM,
            "given_at": (given_at or utcnow() - dt.timedelta(minutes=5)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def withdraw(api: httpx.AsyncClient, controller: Org, consent_id: str) -> None:
    response = await api.post(
        f"/v1/consents/{consent_id}/withdraw",
        headers=controller.headers,
        json={"reason": "the person withdrew at the centre"},
    )
    assert response.status_code == 200, response.text


async def open_case(
    api: httpx.AsyncClient, lead: Org, who: Person, discovered_on: dt.date = TODAY
) -> dict[str, Any]:
    response = await api.post(
        "/v1/cases",
        headers=lead.headers,
        json={"subject": {"rrn": who.rrn}, "discovered_on": discovered_on.isoformat()},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def patch(
    api: httpx.AsyncClient, caller: Org, case_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await api.patch(f"/v1/cases/{case_id}", headers=caller.headers, json=body)


async def move(
    api: httpx.AsyncClient, caller: Org, case_id: str, to: str, on: dt.date, **extra: Any
) -> dict[str, Any]:
    stage = {"to": to, "on": on.isoformat()} | {
        k: v for k, v in extra.items() if k == "closure_code"
    }
    body = {"stage": stage} | {k: v for k, v in extra.items() if k != "closure_code"}
    response = await patch(api, caller, case_id, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def needs(on: dt.date) -> dict[str, Any]:
    return {"scores": SCORES, "crisis_level": "high", "assessed_on": on.isoformat()}


def plan(approved_on: dt.date | None = None) -> list[dict[str, Any]]:
    approval = (
        {"approved_by": "team-leader-7", "approved_on": approved_on.isoformat()}
        if approved_on
        else {}
    )
    return [
        {
            "goal": "식사를 규칙적으로 한다",
            "provider": "아라종합사회복지관",
            "content": "밑반찬 배달",
            "frequency": "주 2회",
        }
        | approval,
        {
            "goal": "체납 공과금을 정리한다",
            "provider": "주민센터",
            "content": "긴급지원 연계",
            "frequency": "1회",
        }
        | approval,
    ]


async def through_to(
    api: httpx.AsyncClient, lead: Org, case_id: str, last: str, start: dt.date
) -> dict[str, Any]:
    """Drive a case from discovery on `start` through the stages up to `last`, a day or two
    apart, meeting every requirement on the way; returns the last answer."""
    d = start
    steps: list[tuple[str, dict[str, Any]]] = [
        ("initial_consultation", {}),
        ("intake", {}),
        ("assessment", {}),
        ("conference", {"needs": needs(start + dt.timedelta(days=8))}),
        ("classification", {"household_class": "case_management", "case_type": "intensive"}),
        ("planning", {"plan": plan()}),
        ("service", {"plan": plan(start + dt.timedelta(days=13))}),
    ]
    answer: dict[str, Any] = {}
    for stage, extra in steps:
        d += dt.timedelta(days=2)
        answer = await move(api, lead, case_id, stage, d, **extra)
        if stage == last:
            return answer
    raise AssertionError(f"{last} is not a stage through_to reaches")


async def entries(
    db: Database, client_id: str, decision: str | None = None
) -> list[DisclosureEntry]:
    async with db.transaction() as session:
        query = select(DisclosureEntry).where(DisclosureEntry.client_id == client_id)
        if decision is not None:
            query = query.where(DisclosureEntry.decision == decision)
        return list(await session.scalars(query.order_by(DisclosureEntry.id)))
