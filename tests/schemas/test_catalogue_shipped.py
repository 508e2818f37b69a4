"""The shipped catalogue loads, holds what DOMAIN.md requires, and hashes stably."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from schemas.catalogue import CATALOGUE_FILES, Catalogue, load_catalogue
from schemas.catalogue.loader import DEFAULT_DIRECTORY
from schemas.duplicate_rule import AnyDayOverlap, RuleScope, RuleSource, WithinDaysOverlap
from schemas.organisation import OrganisationKind
from schemas.programme import ProgrammeCategory

MINISTRIES = {
    "MOHW", "MOEL", "MOLIT", "MOGEF", "MPVA", "MOE", "MCST", "MOTIE", "KFS", "MAFRA", "MOIS",
}  # fmt: skip

# Every programme DOMAIN.md names, by a substring of its Korean name.
DOMAIN_PROGRAMMES = [
    "생계급여", "의료급여", "주거급여", "교육급여", "차상위 본인부담경감", "차상위 장애인",
    "차상위 자활", "긴급지원", "자활근로", "가정양육수당", "드림스타트", "노인돌봄기본서비스",
    "방문건강관리", "의료급여사례관리", "수업료국비지원", "국가유공자보철구지급", "공공산림가꾸기",
    "영구임대", "매입임대", "국민임대", "공공임대", "장기전세", "개발제한구역주민지원",
    "아이돌봄서비스", "여행바우처", "열요금감면", "취업성공패키지", "노후준비서비스",
]  # fmt: skip

DOMAIN_ATTRIBUTES = [
    "basic_livelihood.recipient", "basic_livelihood.benefit", "near_poverty",
    "disability.registered", "disability.severity", "single_parent_family", "national_merit",
    "health_insurance.payment_status", "income.band",
]  # fmt: skip


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_programmes_cover_every_ministry(catalogue: Catalogue) -> None:
    assert len(catalogue.programmes) >= 40
    assert {o.code for o in catalogue.ministries()} == MINISTRIES
    for ministry in MINISTRIES:
        assert catalogue.programmes_of(ministry), ministry


@pytest.mark.parametrize("name", DOMAIN_PROGRAMMES)
def test_every_domain_programme_is_present(catalogue: Catalogue, name: str) -> None:
    assert any(name in p.name_ko for p in catalogue.programmes.values()), name


def test_domain_programmes_have_the_expected_owners(catalogue: Catalogue) -> None:
    owners = {
        "MOHW-BLS-EDUCATION": "MOHW",
        "MOHW-SELF-SUPPORT-WORK": "MOHW",
        "MPVA-TUITION": "MPVA",
        "MPVA-PROSTHESIS": "MPVA",
        "KFS-FOREST-TENDING": "KFS",
        "MOGEF-CHILD-CARE-SERVICE": "MOGEF",
        "MCST-TRAVEL-VOUCHER": "MCST",
        "MOTIE-HEAT-CHARGE-REDUCTION": "MOTIE",
        "MOEL-EMPLOYMENT-SUCCESS": "MOEL",
        "MOLIT-GREENBELT-RESIDENT-SUPPORT": "MOLIT",
    }
    for code, ministry in owners.items():
        assert catalogue.programmes[code].ministry == ministry
    assert catalogue.programmes["MOHW-RETIREMENT-PREP"].operator == "NPS"
    rental = [p for p in catalogue.programmes.values() if p.operator == "LH"]
    assert {"MOLIT-PERMANENT-RENTAL", "MOLIT-PURCHASE-RENTAL"} <= {p.code for p in rental}


def test_partner_checks_named_in_domain(catalogue: Catalogue) -> None:
    care = catalogue.programmes["MOGEF-CHILD-CARE-SERVICE"]
    assert "health_insurance.payment_status" in care.verified_attributes
    assert catalogue.programmes["MCST-TRAVEL-VOUCHER"].verified_attributes == (
        "basic_livelihood.recipient",
    )
    assert "income.band" in catalogue.programmes["MOLIT-NATIONAL-RENTAL"].verified_attributes


def test_private_support_has_no_ministry(catalogue: Catalogue) -> None:
    private = [
        p for p in catalogue.programmes.values() if p.category is ProgrammeCategory.PRIVATE_SUPPORT
    ]
    assert {p.code for p in private} >= {"PRIV-FOOD", "PRIV-CASH", "PRIV-SERVICE"}
    assert all(p.ministry is None for p in private)
    assert all(p.operator_kind is OrganisationKind.WELFARE_CENTRE for p in private)


def test_organisations(catalogue: Catalogue) -> None:
    orgs = catalogue.organisations
    assert orgs["MOIS-RRS"].kind is OrganisationKind.REGISTRY
    assert orgs["LH"].parent == "MOLIT"
    assert orgs["NPS"].parent == "MOHW"
    assert orgs["NOWON"].sigungu_code == "11350"
    assert orgs["JEJU-ARA"].sigungu_code == "50110"
    kinds = {o.kind for o in orgs.values()}
    assert kinds == set(OrganisationKind)
    assert orgs["WC-ARA"].sigungu_code == orgs["JEJU-ARA"].sigungu_code
    assert orgs["WC-NOWON"].sigungu_code == orgs["NOWON"].sigungu_code
    assert orgs["BAI"].kind is OrganisationKind.AUDITOR


def test_attributes_and_categories(catalogue: Catalogue) -> None:
    for code in DOMAIN_ATTRIBUTES:
        assert code in catalogue.attributes, code
    sensitive = {c.code for c in catalogue.data_categories.values() if c.sensitive}
    assert sensitive == {"case.sensitive.mental_health", "case.sensitive.addiction"}
    assert set(catalogue.purposes) >= {
        "eligibility.verification",
        "benefit.administration",
        "missed_service.discovery",
        "duplicate.prevention",
        "status.notification",
        "case.management",
        "audit.oversight",
        "subject.access",
    }


def test_legal_bases_leave_private_bodies_and_case_data_to_consent(catalogue: Catalogue) -> None:
    assert len(catalogue.legal_bases) >= 8
    for basis in catalogue.legal_bases.values():
        assert OrganisationKind.WELFARE_CENTRE not in basis.organisation_kinds
        assert not any(c.startswith("case.") for c in basis.data_categories)
        assert basis.requires_consent is False
    eligibility = catalogue.legal_bases["ssba-eligibility-check"]
    assert eligibility.requires_own_programme
    assert eligibility.permits(
        OrganisationKind.MINISTRY, "eligibility.verification", "status.basic_livelihood"
    )
    assert not eligibility.permits(
        OrganisationKind.WELFARE_CENTRE, "eligibility.verification", "status.basic_livelihood"
    )


def test_exactly_31_duplicate_rules(catalogue: Catalogue) -> None:
    rules = catalogue.duplicate_rules
    assert [r.id for r in rules] == [f"DUP-{n:02d}" for n in range(1, 32)]
    assert [r.id for r in rules if r.source is RuleSource.REAL] == ["DUP-01", "DUP-02"]
    for rule in rules[2:]:
        assert rule.source is RuleSource.SYNTHETIC
        assert rule.note is not None
        assert "Synthetic" in rule.note


def test_the_two_real_rules(catalogue: Catalogue) -> None:
    dup1, dup2 = catalogue.duplicate_rules[:2]
    assert {dup1.a.programme, dup1.b.programme} == {"MOHW-BLS-EDUCATION", "MPVA-TUITION"}
    assert {dup2.a.programme, dup2.b.programme} == {"MOHW-SELF-SUPPORT-WORK", "KFS-FOREST-TENDING"}
    for rule in (dup1, dup2):
        assert rule.scope is RuleScope.PERSON
        assert isinstance(rule.overlap, AnyDayOverlap)
        assert rule.in_force(date(2012, 8, 1))
    assert dup2 in catalogue.rules_for("KFS-FOREST-TENDING")
    assert dup1 in catalogue.rules_for("MPVA-TUITION")


def test_a_rule_catches_two_facilities_giving_the_same_support(catalogue: Catalogue) -> None:
    private = [
        r
        for r in catalogue.duplicate_rules
        if r.a.programme is not None and r.a.programme.startswith("PRIV-")
    ]
    assert private
    for rule in private:
        assert rule.scope is RuleScope.HOUSEHOLD
        assert isinstance(rule.overlap, WithinDaysOverlap)
        assert rule.distinct_sources
        assert rule.a == rule.b


def test_hash_is_stable_and_covers_every_file(catalogue: Catalogue) -> None:
    again = load_catalogue()
    assert again.hash == catalogue.hash
    assert re.fullmatch(r"[0-9a-f]{64}", catalogue.hash)
    assert set(catalogue.file_hashes) == set(CATALOGUE_FILES)
    assert catalogue.duplicate_rules_hash == catalogue.file_hashes["duplicate_rules.yaml"]
    assert len(set(catalogue.file_hashes.values())) == len(CATALOGUE_FILES)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    target.mkdir()
    for name in CATALOGUE_FILES:
        shutil.copy(DEFAULT_DIRECTORY / name, target / name)
    return target


def test_hash_changes_when_content_changes(catalogue: Catalogue, tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    assert load_catalogue(directory).hash == catalogue.hash
    path = directory / "duplicate_rules.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("days: 30}", "days: 14}", 1), encoding="utf-8")
    changed = load_catalogue(directory)
    assert changed.hash != catalogue.hash
    assert changed.duplicate_rules_hash != catalogue.duplicate_rules_hash
    unchanged = [n for n in CATALOGUE_FILES if n != "duplicate_rules.yaml"]
    assert all(changed.file_hashes[n] == catalogue.file_hashes[n] for n in unchanged)


def test_hash_ignores_comments_and_layout(catalogue: Catalogue, tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "purposes.yaml"
    path.write_text("# a reviewer's note\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_catalogue(directory).hash == catalogue.hash


def test_catalogue_is_read_only(catalogue: Catalogue) -> None:
    with pytest.raises(TypeError):
        catalogue.programmes["X"] = catalogue.programmes["MPVA-TUITION"]  # type: ignore[index]
