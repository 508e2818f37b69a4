"""Broken catalogue files are rejected with a message naming the file, the entry and the line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schemas.catalogue import CATALOGUE_FILES, CatalogueError, load_catalogue
from schemas.catalogue.loader import DEFAULT_DIRECTORY


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    target.mkdir()
    for name in CATALOGUE_FILES:
        shutil.copy(DEFAULT_DIRECTORY / name, target / name)
    return target


def _edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _error(directory: Path) -> str:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(directory)
    message = str(caught.value)
    assert "Traceback" not in message
    return message


def _line_of(directory: Path, name: str, needle: str) -> int:
    lines = (directory / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_unknown_field_is_rejected(directory: Path) -> None:
    _edit(
        directory,
        "programmes.yaml",
        "  - code: MPVA-TUITION\n",
        "  - code: MPVA-TUITION\n    colour: red\n",
    )
    message = _error(directory)
    line = _line_of(directory, "programmes.yaml", "code: MPVA-TUITION")
    assert f"programmes.yaml, line {line}: entry " in message
    assert "(code MPVA-TUITION): colour: Extra inputs are not permitted" in message


def test_unknown_ministry_is_rejected(directory: Path) -> None:
    _edit(
        directory,
        "programmes.yaml",
        "  - code: MOGEF-CHILD-CARE-SERVICE\n    ministry: MOGEF\n",
        "  - code: MOGEF-CHILD-CARE-SERVICE\n    ministry: XYZ\n",
    )
    message = _error(directory)
    assert "programmes.yaml" in message
    assert (
        "(code MOGEF-CHILD-CARE-SERVICE): ministry 'XYZ' is not an organisation "
        "in organisations.yaml"
    ) in message


def test_programme_owned_by_a_non_ministry_is_rejected(directory: Path) -> None:
    _edit(
        directory,
        "programmes.yaml",
        "  - code: MPVA-TUITION\n    ministry: MPVA\n",
        "  - code: MPVA-TUITION\n    ministry: WC-ARA\n",
    )
    assert "ministry 'WC-ARA' is of kind welfare_centre; expected ministry" in _error(directory)


def test_duplicate_code_is_rejected(directory: Path) -> None:
    _append(
        directory,
        "purposes.yaml",
        "  - code: audit.oversight\n"
        "    name_ko: 감사\n    name_en: Audit\n    description: again\n",
    )
    message = _error(directory)
    assert "purposes.yaml" in message
    assert "(code audit.oversight): duplicate code 'audit.oversight' (first defined in entry" in (
        message
    )


def test_rule_referring_to_a_missing_programme_is_rejected(directory: Path) -> None:
    _edit(
        directory,
        "duplicate_rules.yaml",
        "b: {programme: KFS-FOREST-TENDING}",
        "b: {programme: KFS-NO-SUCH}",
    )
    message = _error(directory)
    assert "duplicate_rules.yaml" in message
    assert "entry 2 (id DUP-02): b: programme 'KFS-NO-SUCH' is not defined in programmes.yaml" in (
        message
    )


def test_rule_repeating_a_pair_is_rejected(directory: Path) -> None:
    _append(
        directory,
        "duplicate_rules.yaml",
        """  - id: DUP-32
    name_ko: 반대 방향
    a: {programme: MPVA-TUITION}
    b: {programme: MOHW-BLS-EDUCATION}
    scope: person
    overlap: {kind: same_month}
    effective_from: 2012-08-01
    legal_reference: test
    source: synthetic
""",
    )
    assert "(id DUP-32): same pair and scope as DUP-01" in _error(directory)


def test_rule_with_the_same_side_twice_needs_distinct_sources(directory: Path) -> None:
    _edit(directory, "duplicate_rules.yaml", "    distinct_sources: true\n", "")
    message = _error(directory)
    assert "(id DUP-29)" in message
    assert "set distinct_sources" in message


def test_malformed_yaml_names_file_and_line(directory: Path) -> None:
    _edit(directory, "attributes.yaml", "    name_ko: 차상위계층 여부\n", "    name_ko: [차상위\n")
    message = _error(directory)
    assert message.startswith("attributes.yaml, line ")
    assert "invalid YAML" in message


def test_duplicate_yaml_key_is_rejected(directory: Path) -> None:
    _edit(
        directory,
        "purposes.yaml",
        "    name_en: Audit and oversight\n",
        "    name_en: A\n    name_en: B\n",
    )
    message = _error(directory)
    assert "purposes.yaml, line" in message
    assert "duplicate key 'name_en'" in message


def test_missing_file_is_rejected(directory: Path) -> None:
    (directory / "legal_bases.yaml").unlink()
    assert _error(directory).startswith("legal_bases.yaml: file is missing")


def test_wrong_top_level_key_is_rejected(directory: Path) -> None:
    _edit(directory, "purposes.yaml", "\npurposes:\n", "\npurpose:\n")
    assert "purposes.yaml: expected a mapping with the single key 'purposes'" in _error(directory)


def test_unknown_attribute_in_a_requirement_is_rejected(directory: Path) -> None:
    _edit(directory, "programmes.yaml", "attribute: greenbelt.resident", "attribute: greenbelt.x")
    message = _error(directory)
    assert "(code MOLIT-GREENBELT-RESIDENT-SUPPORT)" in message
    assert "attribute 'greenbelt.x' is not defined in attributes.yaml" in message


def test_ill_typed_requirement_is_rejected(directory: Path) -> None:
    _edit(directory, "programmes.yaml", "        equals: severe\n", "        equals: mild\n")
    message = _error(directory)
    assert "(code MOHW-DISABILITY-PENSION)" in message
    assert "compares a enum attribute with 'mild'" in message


def test_unknown_requirement_kind_is_rejected(directory: Path) -> None:
    _edit(directory, "programmes.yaml", "- kind: income_band_at_most\n", "- kind: income_below\n")
    message = _error(directory)
    assert "(code MOHW-BLS-LIVELIHOOD): requirements.0: Input tag 'income_below'" in message


def test_statute_may_not_cover_welfare_centres(directory: Path) -> None:
    _edit(
        directory,
        "legal_bases.yaml",
        "organisation_kinds: [local_government]\n",
        "organisation_kinds: [local_government, welfare_centre]\n",
    )
    message = _error(directory)
    assert "legal_bases.yaml" in message
    assert "(code ssba-case-management): organisation kind welfare_centre acts only" in message


def test_statute_may_not_release_case_or_sensitive_data(directory: Path) -> None:
    _edit(
        directory,
        "legal_bases.yaml",
        "    data_categories: [identity.pseudonym, audit.disclosure]\n",
        "    data_categories: [identity.pseudonym, case.record, case.sensitive.addiction]\n",
    )
    message = _error(directory)
    assert "(code pipa-63-oversight): data category 'case.record' is shared only" in message
    assert "'case.sensitive.addiction' is sensitive (PIPA §23)" in message


def test_all_problems_are_reported_together(directory: Path) -> None:
    _edit(directory, "programmes.yaml", "    ministry: MOGEF\n", "    ministry: XYZ\n")
    _edit(
        directory, "duplicate_rules.yaml", "{programme: KFS-FOREST-TENDING}", "{programme: XX-YY}"
    )
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(directory)
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("2 problems in the catalogue:")
