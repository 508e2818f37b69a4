"""Golden files: for every source, a small native file (tests/connectors/golden/) and the
canonical records it must yield, row by row. A change to a reader, a mapping or the mapper that
alters any record fails here; regenerate deliberately with golden/regenerate.py and review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.registry import load_mappings
from schemas.catalogue import load_catalogue
from tests.connectors.golden.canonical import EXPECTED, GOLDEN, NOW, canonical_records


def test_every_source_has_a_golden_file() -> None:
    sources = {json.loads(p.read_text("utf-8"))["source"] for p in EXPECTED}
    assert sources == set(load_mappings(load_catalogue()))


@pytest.mark.parametrize(
    "expected_path", EXPECTED, ids=lambda p: p.name.removesuffix(".expected.json")
)
def test_native_file_yields_its_canonical_records(expected_path: Path) -> None:
    catalogue = load_catalogue()
    expected = json.loads(expected_path.read_text("utf-8"))
    native = GOLDEN / expected_path.name.removesuffix(".expected.json")
    mapping = load_mappings(catalogue)[expected["source"]]
    got = canonical_records(native, mapping, catalogue, expected["organisation"], NOW)
    assert len(got) == len(expected["rows"])
    for mine, theirs in zip(got, expected["rows"], strict=True):
        assert mine == theirs, f"{native.name} row {theirs['row']}"
    assert any("record" in row for row in got), "a golden file with no accepted row proves little"
