"""The shipped source mappings: each validates, maps only onto the catalogue, and is the
native format its organisation really exports (with its own column names and code lists)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from connectors.mapping import Mapping, RecordKind
from connectors.registry import MAPPINGS_DIR, load_mappings
from schemas.catalogue import Catalogue, load_catalogue
from schemas.enrolment import EnrolmentStatus
from schemas.event import StatusEventType

# source -> (owners, record kind, format kind, encoding or None)
SOURCES = {
    "mohw": (("MOHW",), "enrolment", "csv", "cp949"),
    "mohw-eligibility": (("MOHW",), "attribute", "csv", "cp949"),
    "nhis": (("NHIS",), "attribute", "csv", "utf-8"),
    "moel": (("MOEL",), "enrolment", "jsonl", None),
    "molit-lh": (("LH", "MOLIT"), "enrolment", "xml", None),
    "mogef": (("MOGEF",), "enrolment", "csv", "utf-8-sig"),
    "mpva": (("MPVA",), "enrolment", "fixed_width", "euc-kr"),
    "moe": (("MOE",), "enrolment", "csv", "euc-kr"),
    "mcst": (("MCST",), "enrolment", "json", None),
    "motie": (("MOTIE",), "enrolment", "csv", "utf-8"),
    "kfs": (("KFS",), "enrolment", "xlsx", None),
    "mafra": (("MAFRA",), "enrolment", "json", None),
    "mois-rrs": (("MOIS-RRS",), "status_event", "fixed_width", "cp949"),
    "ssis": (("WC-ARA", "WC-NOWON", "WC-NOWON-2"), "enrolment", "xlsx", None),
    "mois": (("MOIS",), "enrolment", "csv", "utf-16"),
}
HANGUL = re.compile(r"[가-힣]")
PATHS = sorted(MAPPINGS_DIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def mappings(catalogue: Catalogue) -> dict[str, Mapping]:
    return load_mappings(catalogue)


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_every_file_validates_as_a_mapping(path: Path) -> None:
    mapping = Mapping.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert mapping.source == path.stem
    for person_field in ("rrn", "name", "region_code"):
        assert mapping.fields[person_field].column, f"{path.stem} reads no {person_field}"


def test_every_listed_source_exists_as_specified(mappings: dict[str, Mapping]) -> None:
    assert set(SOURCES) <= set(mappings)
    for source, (owners, record, kind, encoding) in SOURCES.items():
        mapping = mappings[source]
        assert mapping.owners == owners, source
        assert mapping.record.value == record, source
        assert mapping.format.kind == kind, source
        assert getattr(mapping.format, "encoding", None) == encoding, source


def test_every_code_maps_into_the_catalogue(
    mappings: dict[str, Mapping], catalogue: Catalogue
) -> None:
    known = {
        "programme": set(catalogue.programmes),
        "attribute": set(catalogue.attributes),
        "status": {s.value for s in EnrolmentStatus},
        "type": {t.value for t in StatusEventType},
    }
    for mapping in mappings.values():
        for name, allowed in known.items():
            field = mapping.fields.get(name)
            if field is None:
                continue
            values = (
                [field.value] if field.value is not None else list((field.codes or {}).values())
            )
            assert values, f"{mapping.source}.{name} has neither codes nor a constant"
            assert set(values) <= allowed, f"{mapping.source}.{name}: {set(values) - allowed}"


def test_every_mapping_translates_something(mappings: dict[str, Mapping]) -> None:
    """Own code lists: no source writes the catalogue's codes verbatim."""
    for mapping in mappings.values():
        coded = [f for f in mapping.fields.values() if f.codes]
        assert coded, f"{mapping.source} has no code list"
        for field in coded:
            assert field.codes is not None
            assert all(code != meaning for code, meaning in field.codes.items()), mapping.source


def test_every_rule_programme_has_a_source(
    mappings: dict[str, Mapping], catalogue: Catalogue
) -> None:
    """So every duplicate rule can be exercised with real files."""
    mapped = {
        code
        for m in mappings.values()
        if m.record is RecordKind.ENROLMENT
        for code in (m.fields["programme"].codes or {}).values()
    }
    named = {side.programme for r in catalogue.duplicate_rules for side in (r.a, r.b)}
    assert named <= mapped, named - mapped


def test_formats_are_all_different(mappings: dict[str, Mapping]) -> None:
    """Variety: every source's format differs from every other's (kind, encoding, delimiter,
    record element, records key, sheet...; a fixed-width layout's columns aside), and every
    format kind is used."""
    seen: dict[str, str] = {}
    for mapping in mappings.values():
        shape = mapping.format.model_dump(exclude={"columns"})
        key = repr(sorted(shape.items()))
        assert key not in seen, f"{mapping.source} has the same format as {seen.get(key)}"
        seen[key] = mapping.source
    kinds = {m.format.kind for m in mappings.values()}
    assert kinds == {"csv", "fixed_width", "xml", "jsonl", "json", "xlsx"}


def test_korean_sources_have_korean_columns(mappings: dict[str, Mapping]) -> None:
    for source in ("mohw", "mohw-eligibility", "nhis", "molit-lh", "mogef", "mpva", "moe",
                   "motie", "kfs", "mois-rrs", "ssis", "mois"):  # fmt: skip
        columns = mappings[source].columns
        assert all(HANGUL.search(c) for c in columns), source
    for source in ("moel", "mcst", "mafra"):
        assert not any(HANGUL.search(c) for c in mappings[source].columns), source


def test_household_ids_travel_where_households_matter(mappings: dict[str, Mapping]) -> None:
    """Household-scoped duplicate rules compare rows of these sources by household."""
    for source in ("mohw", "molit-lh", "motie", "ssis", "mois-rrs", "mogef", "mafra"):
        assert mappings[source].fields["household_id"].column, source


def test_fixed_width_layouts_fit(mappings: dict[str, Mapping]) -> None:
    mpva = mappings["mpva"].format
    assert mpva.kind == "fixed_width"
    assert mpva.record_length == 120
    assert mpva.record_type is not None
    assert mpva.record_type.trailer_count is not None
    assert {c.name: c.width for c in mpva.columns}["성명"] == 20  # ten Hangul syllables
