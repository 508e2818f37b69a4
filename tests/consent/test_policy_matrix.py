"""The shipped legal-basis matrix, request by request.

Expectations are computed from the raw YAML tables (read here with PyYAML, not through the
models or the policy module), so a change to either the table or the policy that makes them
disagree fails here, naming the kind, purpose, categories and own-programme flag.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml

from consent.policy import DenialCode, Request, decide
from schemas.catalogue.loader import DEFAULT_DIRECTORY
from schemas.legal_basis import LegalBasis
from schemas.organisation import OrganisationKind
from tests.consent.builders import BASES, NOW, SENSITIVE, request, run


def _table(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load(Path(DEFAULT_DIRECTORY, name).read_text())[
        name.removesuffix(".yaml")
    ]
    return rows


TABLE = _table("legal_bases.yaml")
CATEGORY_ROWS = _table("data_categories.yaml")
CATEGORIES = [row["code"] for row in CATEGORY_ROWS]
RAW_SENSITIVE = {row["code"] for row in CATEGORY_ROWS if row["sensitive"]}
PURPOSES = [row["code"] for row in _table("purposes.yaml")]
KINDS = [kind.value for kind in OrganisationKind]
REQUESTS = [(c,) for c in CATEGORIES] + list(combinations(CATEGORIES, 2))


def expected(kind: str, purpose: str, cats: tuple[str, ...], own: bool) -> tuple[Any, ...]:
    """(basis, code, refused) straight from the table and the documented refusal order."""
    speaks = [
        row for row in TABLE if kind in row["organisation_kinds"] and purpose in row["purposes"]
    ]
    usable = [row for row in speaks if own or not row["requires_own_programme"]]

    def allows(row: dict[str, Any]) -> set[str]:
        return set(row["data_categories"]) - RAW_SENSITIVE

    covering = sorted(row["code"] for row in usable if set(cats) <= allows(row))
    if covering:
        return f"statute:{covering[0]}", None, ()
    if not speaks:
        return None, DenialCode.NO_BASIS, tuple(sorted(cats))
    allowed = set().union(*(allows(row) for row in usable))
    refused = tuple(sorted(set(cats) - allowed))
    if not refused:
        return None, DenialCode.NO_SINGLE_BASIS, ()
    if any(set(cats) <= allows(row) for row in speaks):
        return None, DenialCode.NOT_OWN_PROGRAMME, refused
    if set(refused) & RAW_SENSITIVE:
        return None, DenialCode.SENSITIVE_NEEDS_CONSENT, refused
    return None, DenialCode.CATEGORY_NOT_ALLOWED, refused


def test_the_test_tables_match_the_loaded_catalogue() -> None:
    assert [row["code"] for row in TABLE] == [b.code for b in BASES]
    assert (
        RAW_SENSITIVE
        == SENSITIVE
        == {
            "case.sensitive.mental_health",
            "case.sensitive.addiction",
        }
    )


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_request_of_the_matrix(kind: str, purpose: str) -> None:
    """Every kind × purpose × (each category and each pair) × own-programme on/off."""
    mismatches = []
    for cats in REQUESTS:
        for own in (False, True):
            req = request(*cats, kind=OrganisationKind(kind), purpose=purpose, own_programme=own)
            got = run(req)
            basis, code, refused = expected(kind, purpose, cats, own)
            actual = (got.basis, got.code, got.refused)
            if actual != (basis, code, refused):
                mismatches.append((cats, own, actual, (basis, code, refused)))
            assert got.released == (tuple(sorted(cats)) if basis else ())
    assert not mismatches, mismatches[:5]


@pytest.mark.parametrize("basis", BASES, ids=lambda b: b.code)
def test_each_basis_releases_its_whole_list_to_each_of_its_kinds(basis: LegalBasis) -> None:
    """A request for everything a basis lists is permitted on it, or on a lower code that also
    lists it all; never anything it does not list."""
    for kind in basis.organisation_kinds:
        for purpose in basis.purposes:
            req = request(*basis.data_categories, kind=kind, purpose=purpose, own_programme=True)
            got = run(req)
            assert got.permitted, (kind, purpose, got.reasons)
            assert got.basis is not None
            assert got.basis <= f"statute:{basis.code}"
            assert got.released == tuple(sorted(basis.data_categories))


@pytest.mark.parametrize("basis", [b for b in BASES if b.requires_own_programme], ids=str)
def test_own_programme_bases_refuse_another_ministrys_programme(basis: LegalBasis) -> None:
    for kind in basis.organisation_kinds:
        for purpose in basis.purposes:
            req = request(
                *basis.data_categories,
                kind=kind,
                purpose=purpose,
                own_programme=False,
                programme="MOLIT-PERMANENT-RENTAL",
            )
            got = run(req)
            assert not got.permitted
            assert got.code is DenialCode.NOT_OWN_PROGRAMME
            assert "programme MOLIT-PERMANENT-RENTAL" in got.reasons[0]
            assert f"statute:{basis.code}" in "\n".join(got.reasons)


@pytest.mark.parametrize("kind", list(OrganisationKind))
@pytest.mark.parametrize("category", sorted(SENSITIVE))
def test_a_sensitive_category_is_never_released_on_a_statute(
    kind: OrganisationKind, category: str
) -> None:
    for purpose in PURPOSES:
        for own in (False, True):
            got = run(request(category, kind=kind, purpose=purpose, own_programme=own))
            assert not got.permitted
            assert got.refused == (category,)


def test_a_statute_listing_a_sensitive_category_still_does_not_release_it() -> None:
    """Defence in depth: the loader rejects such a statute, and decide ignores it anyway."""
    rogue = BASES[0].model_copy(
        update={"data_categories": (*BASES[0].data_categories, "case.sensitive.addiction")}
    )
    req = request(
        "case.sensitive.addiction",
        kind=rogue.organisation_kinds[0],
        purpose=rogue.purposes[0],
        own_programme=True,
    )
    got = run(req, bases=(rogue,))
    assert not got.permitted
    assert got.code is DenialCode.SENSITIVE_NEEDS_CONSENT
    assert got.refused == ("case.sensitive.addiction",)
    # The same statute without the PIPA §23 set would release it: the keyword matters.
    assert decide(req, (), (rogue,), NOW, sensitive_categories=()).permitted


MOHW = {"organisation": "MOHW", "kind": OrganisationKind.MINISTRY}
LH = {"organisation": "LH", "kind": OrganisationKind.PUBLIC_AGENCY}
MOGEF = {"organisation": "MOGEF", "kind": OrganisationKind.MINISTRY}
DONG = {"organisation": "JEJU-ARA", "kind": OrganisationKind.LOCAL_GOVERNMENT}
CENTRE = {"organisation": "WC-ARA", "kind": OrganisationKind.WELFARE_CENTRE}
BAI = {"organisation": "BAI", "kind": OrganisationKind.AUDITOR}
MOIS = {"organisation": "MOIS-RRS", "kind": OrganisationKind.REGISTRY}
EV = "eligibility.verification"


def _req(who: dict[str, Any], purpose: str, *cats: str, own: bool = False) -> Request:
    return request(*cats, purpose=purpose, own_programme=own, **who)


BL = "status.basic_livelihood"
CASE = ("case.management",)

NAMED_CASES: list[tuple[Request, str]] = [
    # A ministry verifying eligibility for its own programme learns basic-livelihood status.
    (_req(MOHW, EV, BL, own=True), "statute:ssba-eligibility-check"),
    (_req(MOHW, EV, BL), f"not_own_programme {BL}"),
    # Scenario D: LH gets the income band and home ownership for a rental-housing applicant.
    (_req(LH, EV, "income.band", "asset.housing", own=True), "statute:ssba-eligibility-check"),
    # Scenario E: 아이돌봄서비스 checks the health-insurance payment status. Two statutes cover
    # it and the lower code wins (see the report on tie-breaking).
    (_req(MOGEF, EV, "insurance.health_payment", own=True), "statute:nblsa-investigation"),
    (_req(MOGEF, EV, "insurance.health_payment", BL, own=True), "statute:ssba-eligibility-check"),
    # Scenario A: a 동 official looks for missed services; no own programme needed.
    (_req(DONG, "missed_service.discovery", "benefit.enrolment"), "statute:ssba-discovery"),
    (
        _req(MOHW, "benefit.administration", "civil.address", own=True),
        "statute:nblsa-investigation",
    ),
    # Two statutes cover: the lower code is recorded.
    (_req(BAI, "audit.oversight", "audit.disclosure"), "statute:baia-audit"),
    # A community welfare centre has no statute at all, even for a yes/no status.
    (_req(CENTRE, EV, BL, own=True), f"no_basis {BL}"),
    (_req(CENTRE, *CASE, "case.record"), "no_basis case.record"),
    # Case data is consent-only, even for the public case manager.
    (_req(DONG, *CASE, "benefit.enrolment", "case.record"), "category_not_allowed case.record"),
    (
        _req(DONG, *CASE, "case.sensitive.mental_health"),
        "sensitive_needs_consent case.sensitive.mental_health",
    ),
    # The purpose must justify the category, and one basis must cover all of them.
    (_req(MOHW, EV, BL, "civil.address", own=True), "no_single_basis"),
    (_req(MOHW, EV, "audit.disclosure", own=True), "category_not_allowed audit.disclosure"),
    (_req(MOHW, "audit.oversight", "audit.disclosure"), "no_basis audit.disclosure"),
    # A registry sends data; it receives none.
    (_req(MOIS, "status.notification", "civil.status", own=True), "no_basis civil.status"),
]


@pytest.mark.parametrize(("req", "outcome"), NAMED_CASES, ids=[o for _, o in NAMED_CASES])
def test_named_cases(req: Request, outcome: str) -> None:
    """``statute:<code>`` for a permit, else ``<code> <refused categories…>``."""
    got = run(req)
    if outcome.startswith("statute:"):
        assert (got.permitted, got.basis, got.code, got.refused) == (True, outcome, None, ())
        assert got.released == tuple(sorted(req.data_categories))
    else:
        code, *refused = outcome.split()
        assert (got.permitted, got.basis, got.code) == (False, None, code)
        assert got.refused == tuple(refused)
        assert got.released == ()
