"""Helpers for the disclosure-log API tests: entries written with audit.log.record, persons
and organisations created through the hub's own services, and a sequencer run."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from audit import log, sequencer
from audit.models import DisclosureEntry
from hub.database import Database
from hub.kit.clock import utcnow
from hub.organisations import service as organisations
from hub.records.models import Enrolment
from hub.records.repository import NewPerson, add_person
from schemas.disclosure import Decision, Disclosure
from schemas.identifiers import parse_rrn
from tests.factories import bearer, new_client, new_rrn

RULES = "0" * 64


def org_code() -> str:
    """A fresh organisation code, so each test can filter the shared log down to its own."""
    return f"T{secrets.token_hex(4).upper()}"


def disclosure(organisation: str, **overrides: Any) -> Disclosure:
    fields: dict[str, Any] = {
        "recorded_at": utcnow(),
        "action": "eligibility.verify",
        "organisation": organisation,
        "client_id": f"{organisation.lower()}-client",
        "actor": "staff-7",
        "subject_ref": None,
        "purpose": "eligibility.verification",
        "basis": "statute:ssba-eligibility-check",
        "data_categories": ("identity.pseudonym", "status.disability"),
        "fields": ("subject_ref", "disability.registered"),
        "decision": Decision.PERMIT,
        "reason": "Answered 1 attribute.",
        "request_id": f"req_{secrets.token_hex(6)}",
        "rule_set_hash": RULES,
    }
    return Disclosure(**(fields | overrides))


async def record(db: Database, *entries: Disclosure) -> list[int]:
    """Write entries as a disclosing transaction would; their ids, in order."""
    async with db.transaction() as session:
        return [(await log.record(session, entry)).id for entry in entries]


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    rrn: str
    log_ref: str


async def new_person(app: FastAPI, db: Database) -> Person:
    keyset = app.state.keyring.current()
    rrn = new_rrn()
    async with db.transaction() as session:
        person = await add_person(session, keyset, NewPerson(rrn=parse_rrn(rrn), name="김하나"))
    return Person(person.id, rrn, log.subject_of(keyset, person.id))


async def enrol(db: Database, person: Person, organisation: str) -> None:
    """An enrolment reported by `organisation`: the organisation serves the person."""
    async with db.transaction() as session:
        session.add(
            Enrolment(
                person_id=person.id,
                programme_code="MOHW-BLS-LIVELIHOOD",
                source_org=organisation,
                source_record_id=f"E-{secrets.token_hex(6)}",
                period_start=dt.date(2024, 1, 1),
                fingerprint="f" * 64,
            )
        )


async def local_government(db: Database) -> str:
    code = org_code()
    async with db.transaction() as session:
        await organisations.add(
            session,
            code=code,
            kind="local_government",
            name_ko="시험구청",
            name_en="Test district office",
            region_code="11350",
        )
    return code


async def auditor_headers(api: httpx.AsyncClient, db: Database) -> tuple[str, dict[str, str]]:
    credentials = await new_client(db, kind="auditor")
    return credentials.organisation, await bearer(api, credentials)


async def sequence(app: FastAPI) -> None:
    """Sequence everything committed and sign a checkpoint (waits out a running sequencer)."""
    keyset = app.state.keyring.current()
    origin = app.state.settings.log_origin
    for _ in range(200):
        async with app.state.db.transaction() as session:
            run = await sequencer.run(
                session, keyset, origin=origin, now=utcnow(), interval=0, force_checkpoint=True
            )
        if not run.skipped:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the sequencer lock was never free")


async def entry_count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(DisclosureEntry)) or 0)


async def all_pages(
    api: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await api.get("/v1/audit/disclosures", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
