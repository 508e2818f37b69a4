"""Golden files: for every source, a small native file (tests/connectors/golden/) and the
canonical records it must yield, row by row. A change to a reader, a mapping or the mapper that
alters any record fails here; regenerate deliberately with golden/regenerate.py and review."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.registry import load_mappings
from schemas.catalogue import load_catalogue
from tests.connectors.golden.canonical import (
    EXPECTED,
    NOW,
    GoldenCase,
    canonical_records,
    each_golden_file,
)


def test_every_source_has_a_golden_file() -> None:
    sources = {json.loads(p.read_text("utf-8"))["source"] for p in EXPECTED}
    assert sources == set(load_mappings(load_catalogue()))


@each_golden_file
def test_native_file_yields_its_canonical_records(expected_path: Path) -> None:
    case = GoldenCase.of(expected_path)
    expected = case.expected
    got = canonical_records(
        case.native, case.mapping, case.catalogue, expected["organisation"], NOW
    )
    assert len(got) == len(expected["rows"])
    for mine, theirs in zip(got, expected["rows"], strict=True):
        assert mine == theirs, f"{case.native.name} row {theirs['row']}"
    assert any("record" in row for row in got), "a golden file with no accepted row proves little"
