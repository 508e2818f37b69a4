"""Who may call what (issue 9): every endpoint × every kind of organisation × the token's
scopes, from one table, on both databases.

For each protected endpoint the table names its scope(s) and, per kind of organisation, what a
caller holding the scope gets: `OK` (served: 2xx, or a 404/422 about the object or the input,
which means function-level authorisation let it through) or `NO` (403: the organisation's kind
has no basis, or the object is not its own). Every protected endpoint must also answer 401
without a token and 403 `insufficient-scope` to a token that lacks its scope. A test checks
that the table covers every route the app serves, so a new endpoint cannot skip the matrix.
Object-level rules (another organisation's consent, subscription, finding, batch or case is
invisible) are checked against real objects below the matrix."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.auth.scopes import ALL_SCOPES
from hub.database import Database
from hub.vault import KeySet
from tests.alerts.support import person
from tests.factories import Credentials, bearer, new_client, new_rrn

# One real catalogue organisation of each kind: the policy looks at kinds and programmes.
KINDS = {
    "ministry": "MCST",
    "public_agency": "NPS",
    "local_government": "JEJU-ARA",
    "welfare_centre": "WC-ARA",
    "registry": "MOIS-RRS",
    "auditor": "BAI",
}
OWN_PROGRAMME = {"MCST": "MCST-TRAVEL-VOUCHER", "NPS": "MOHW-BASIC-PENSION"}
QUESTION = {  # what each own programme may ask (its verified attributes)
    "MCST": {"attribute": "basic_livelihood.recipient"},
    "NPS": {"attribute": "income.band", "at_most": 50},
}
OK, NO = "ok", "no"
EVERYONE = dict.fromkeys(KINDS, OK)
PUBLIC_BODIES = {k: OK if k in ("ministry", "public_agency") else NO for k in KINDS}


def only(*kinds: str) -> dict[str, str]:
    return {k: OK if k in kinds else NO for k in KINDS}


Body = Callable[[str], dict[str, Any] | None]
"""The request body for a caller organisation (None: no body)."""


def programme_of(org: str) -> str:
    return OWN_PROGRAMME.get(org, "MCST-TRAVEL-VOUCHER")


def subject() -> dict[str, str]:
    return {"rrn": new_rrn()}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    scopes: tuple[str, ...]
    """Any one of them admits the caller."""
    expect: dict[str, str]
    body: Body = lambda org: None
    files: bool = False
    with_scope: bool = True
    """False for an endpoint whose success is a heavy side effect (a full scan): only its
    refusals are checked here; tests/duplicates covers it."""


def consent_body(org: str) -> dict[str, Any]:
    return {
        "subject": subject(),
        "recipients": [org],
        "purposes": ["case.management"],
        "data_categories": ["case.record"],
        "collection_method": "written",
        "form_sha256": "a" * 64,
        "given_at": dt.datetime.now(dt.UTC).isoformat(),
    }


ANY_ID = str(uuid.uuid4())
TABLE: tuple[Row, ...] = (
    Row("GET", "/v1/clients", ("admin",), EVERYONE),
    Row("POST", "/v1/ingest/mohw", ("records:write",), only(), files=True),  # MOHW's source
    Row("GET", f"/v1/ingest/batches/{ANY_ID}", ("records:write",), EVERYONE),
    Row(
        "POST",
        "/v1/eligibility/verify",
        ("eligibility:verify",),
        PUBLIC_BODIES,
        lambda org: {
            "subject": subject(),
            "programme": programme_of(org),
            "attributes": [QUESTION.get(org, QUESTION["MCST"])],
        },
    ),
    Row(
        "POST",
        "/v1/eligibility/benefits",
        ("benefits:read",),
        only("ministry"),  # nblsa-investigation: ministries and local governments (own programme)
        lambda org: {
            "subject": subject(),
            "purpose": "eligibility.verification",
            "programme": programme_of(org),
        },
    ),
    Row(
        "POST",
        "/v1/eligibility/recommend",
        ("eligibility:verify",),
        only("ministry", "local_government"),  # ssba-discovery
        lambda org: {"subject": subject()},
    ),
    Row(
        "POST",
        "/v1/duplicates/check",
        ("duplicates:check",),
        PUBLIC_BODIES,
        lambda org: {
            "subject": subject(),
            "programme": programme_of(org),
            "period_start": "2025-01-01",
        },
    ),
    Row("GET", "/v1/duplicates/findings", ("duplicates:check",), EVERYONE),
    Row("GET", f"/v1/duplicates/findings/{ANY_ID}", ("duplicates:check",), EVERYONE),
    Row(
        "POST",
        f"/v1/duplicates/findings/{ANY_ID}/resolution",
        ("duplicates:check",),
        EVERYONE,
        lambda org: {"status": "confirmed"},
    ),
    Row("POST", "/v1/duplicates/scans", ("admin",), EVERYONE, with_scope=False),
    Row(
        "POST",
        "/v1/consents",
        ("consents:write",),
        EVERYONE,
        consent_body,
    ),
    Row("GET", "/v1/consents/cns_unknown", (), EVERYONE),
    Row("GET", "/v1/consents/cns_unknown/receipt", (), EVERYONE),
    Row(
        "POST",
        "/v1/consents/cns_unknown/withdraw",
        ("consents:write",),
        EVERYONE,
        lambda org: {"reason": "asked"},
    ),
    Row("POST", "/v1/consents/search", (), EVERYONE, lambda org: {"subject": subject()}),
    Row(
        "POST",
        "/v1/cases",
        ("cases:write",),
        only(),  # a case record rests on the person's consent, and this person gave none
        lambda org: {"subject": subject(), "discovered_on": "2025-01-01"},
    ),
    Row("GET", "/v1/cases", ("cases:read",), EVERYONE),
    Row("GET", f"/v1/cases/{ANY_ID}", ("cases:read",), EVERYONE),
    Row("PATCH", f"/v1/cases/{ANY_ID}", ("cases:write",), EVERYONE, lambda org: {}),
    Row(
        "POST",
        f"/v1/cases/{ANY_ID}/shares",
        ("cases:write",),
        EVERYONE,
        lambda org: {"organisation": "WC-NOWON", "data_categories": ["case.record"]},
    ),
    Row(
        "POST",
        f"/v1/cases/{ANY_ID}/referrals",
        ("cases:write",),
        EVERYONE,
        lambda org: {"organisation": "WC-NOWON", "service": "밑반찬 배달"},
    ),
    Row(
        "PATCH",
        f"/v1/cases/{ANY_ID}/referrals/{ANY_ID}",
        ("cases:write",),
        EVERYONE,
        lambda org: {"status": "completed"},
    ),
    Row("GET", f"/v1/cases/{ANY_ID}/conference-pack", ("cases:read",), EVERYONE),
    Row("GET", "/v1/referrals", ("cases:read",), EVERYONE),
    Row(
        "POST",
        "/v1/events",
        ("events:write",),
        only("registry"),
        lambda org: {
            "events": [
                {
                    "subject": subject(),
                    "type": "person.died",
                    "effective_date": "2025-01-01",
                    "source_event_id": f"EV-{secrets.token_hex(6)}",
                    "reported_at": dt.datetime.now(dt.UTC).isoformat(),
                    "details": {},
                }
            ]
        },
    ),
    Row(
        "POST",
        "/v1/subscriptions",
        ("alerts:subscribe",),
        EVERYONE,
        lambda org: {"event_types": ["person.died"], "delivery": {"mode": "pull"}},
    ),
    Row("GET", "/v1/subscriptions", ("alerts:subscribe",), EVERYONE),
    Row("GET", "/v1/subscriptions/sub_unknown", ("alerts:subscribe",), EVERYONE),
    Row("DELETE", "/v1/subscriptions/sub_unknown", ("alerts:subscribe",), EVERYONE),
    Row("GET", "/v1/alerts?subscription=sub_unknown", ("alerts:subscribe",), EVERYONE),
    Row("GET", "/v1/audit/disclosures", ("audit:read",), only("auditor")),
    Row(
        "POST",
        "/v1/audit/disclosures/search",
        ("audit:read",),
        only("auditor"),
        lambda org: {"subject": subject()},
    ),
    Row("GET", "/v1/audit/disclosures/export", ("audit:read",), only("auditor")),
    Row(
        "POST",
        "/v1/audit/subject-report",
        ("audit:read", "subjects:report"),
        only("auditor"),
        lambda org: {"subject": subject(), "purpose": "audit.oversight"},
    ),
    Row("GET", "/v1/audit/checkpoint", ("audit:read",), only("auditor")),
    Row("GET", "/v1/audit/proof/inclusion?index=0&size=1", ("audit:read",), only("auditor")),
    Row("GET", "/v1/audit/proof/consistency?old=1&new=1", ("audit:read",), only("auditor")),
    Row("GET", "/v1/audit/entries/0", ("audit:read",), only("auditor")),
)
OPEN = {  # served without a token: health, metadata, the public catalogue and directory
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/oauth/token"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/v1/programmes"),
    ("GET", "/v1/programmes/{code}"),
    ("GET", "/v1/organisations"),
}


def _template(path: str) -> str:
    """The route template a concrete table path stands for."""
    parts = path.split("?")[0].split("/")
    return "/".join(
        "{x}" if part in (ANY_ID, "cns_unknown", "sub_unknown", "0", "mohw") else part
        for part in parts
    )


def test_the_table_covers_every_route(app: FastAPI) -> None:
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    covered = {(r.method, _template(r.path)) for r in TABLE}
    normalise = {(m, _template_of_route(p)) for m, p in served - OPEN}
    assert normalise == covered


def _template_of_route(path: str) -> str:
    return "/".join("{x}" if p.startswith("{") else p for p in path.split("/"))


@pytest.fixture
async def callers(api: httpx.AsyncClient, db: Database) -> dict[str, Credentials]:
    """One client with every scope for each kind's organisation."""
    return {
        kind: await new_client(db, organisation=code, scopes=" ".join(ALL_SCOPES))
        for kind, code in KINDS.items()
    }


async def _call(
    api: httpx.AsyncClient, row: Row, org: str, headers: dict[str, str]
) -> httpx.Response:
    if row.files:
        return await api.request(
            row.method,
            row.path,
            headers=headers,
            files={"file": ("x.csv", b"not a source file", "text/csv")},
        )
    return await api.request(row.method, row.path, headers=headers, json=row.body(org))


def _outcome(response: httpx.Response) -> str:
    if response.status_code in (401, 403):
        return NO
    assert response.status_code < 500, response.text
    return OK


async def test_every_endpoint_for_every_kind_of_organisation(
    api: httpx.AsyncClient, callers: dict[str, Credentials]
) -> None:
    mismatches = []
    for kind, credentials in callers.items():
        org = KINDS[kind]
        tokens: dict[str, dict[str, str]] = {}

        async def token(
            scope: str,
            credentials: Credentials = credentials,
            tokens: dict[str, dict[str, str]] = tokens,
        ) -> dict[str, str]:
            if scope not in tokens:
                tokens[scope] = await bearer(api, credentials, scope=scope)
            return tokens[scope]

        for row in TABLE:
            anonymous = await _call(api, row, org, {})
            if row.scopes:
                assert anonymous.status_code == 401, (row.path, anonymous.text)
                assert "www-authenticate" in anonymous.headers
                lacking = " ".join(s for s in ALL_SCOPES if s not in row.scopes)
                without = await _call(api, row, org, await token(lacking))
                assert without.status_code == 403, (row.path, kind, without.text)
                assert without.json()["type"] == "urn:hub:problem:insufficient-scope", (
                    row.path,
                    kind,
                    without.text,
                )
            else:
                assert anonymous.status_code == 401, (row.path, anonymous.text)
            if not row.with_scope:
                continue
            scope = row.scopes[0] if row.scopes else "cases:read"
            answer = await _call(api, row, org, await token(scope))
            got = _outcome(answer)
            if got != row.expect[kind]:
                mismatches.append((row.method, row.path, kind, answer.status_code, answer.text))
    assert mismatches == [], "\n".join(str(m[:4]) + " " + m[4][:160] for m in mismatches)


async def test_another_organisations_objects_are_invisible(
    api: httpx.AsyncClient, db: Database, keys_file: Path
) -> None:
    """Object level: with every scope, an organisation cannot see, change or even confirm the
    existence of another organisation's consent, subscription or ingestion batch (404, the
    same answer as for an id that does not exist)."""
    everything = " ".join(ALL_SCOPES)
    owner = await bearer(api, await new_client(db, organisation="JEJU-ARA", scopes=everything))
    other = await bearer(api, await new_client(db, organisation="WC-NOWON", scopes=everything))
    mohw = await bearer(api, await new_client(db, organisation="MOHW", scopes=everything))
    mcst = await bearer(api, await new_client(db, organisation="MCST", scopes=everything))

    who = await person(db, KeySet.load(keys_file))
    body = consent_body("JEJU-ARA") | {"subject": {"rrn": who.rrn}}
    consent = await api.post("/v1/consents", headers=owner, json=body)
    assert consent.status_code == 201, consent.text
    consent_id = consent.json()["id"]
    subscription = await api.post(
        "/v1/subscriptions",
        headers=owner,
        json={"event_types": ["person.died"], "delivery": {"mode": "pull"}},
    )
    assert subscription.status_code == 201, subscription.text
    sub_id = subscription.json()["id"]
    csv = "주민등록번호,성명,사업코드,급여개시일\n".encode("cp949")
    batch = await api.post(
        "/v1/ingest/mohw", headers=mohw, files={"file": ("mohw.csv", csv, "text/csv")}
    )
    batch_id = batch.json()["batch_id"]  # a refused file's batch is kept, with its reason

    checks = [
        ("GET", f"/v1/consents/{consent_id}", owner, other, None),
        ("GET", f"/v1/consents/{consent_id}/receipt", owner, other, None),
        ("GET", f"/v1/subscriptions/{sub_id}", owner, other, None),
        ("GET", f"/v1/alerts?subscription={sub_id}", owner, other, None),
        ("GET", f"/v1/ingest/batches/{batch_id}", mohw, mcst, None),
    ]
    for method, path, mine, theirs, body in checks:
        assert (await api.request(method, path, headers=mine, json=body)).status_code == 200, path
        refused = await api.request(method, path, headers=theirs, json=body)
        assert refused.status_code == 404, (path, refused.text)
    for method, path, body in (
        ("POST", f"/v1/consents/{consent_id}/withdraw", {"reason": "not mine"}),
        ("DELETE", f"/v1/subscriptions/{sub_id}", None),
    ):
        refused = await api.request(method, path, headers=other, json=body)
        assert refused.status_code == 404, (path, refused.text)
    # …and nothing changed: the owner still sees both as they were.
    assert (await api.get(f"/v1/consents/{consent_id}", headers=owner)).json()["state"] == "active"
    kept = await api.get(f"/v1/subscriptions/{sub_id}", headers=owner)
    assert kept.json()["status"] == "active"
