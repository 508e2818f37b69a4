"""What a native file yields, as plain JSON: per data row either the canonical records (the
RRN only as its SHA-256) or the rejection (field and reason)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.mapper import Mapped, Mapper
from connectors.mapping import Mapping
from connectors.readers import read
from connectors.registry import load_mappings
from schemas.catalogue import Catalogue, load_catalogue

GOLDEN = Path(__file__).parent
NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
"""The clock the golden files were made with (ages and dates relative to it)."""
EXPECTED = sorted(GOLDEN.glob("*.expected.json"))

each_golden_file = pytest.mark.parametrize(
    "expected_path", EXPECTED, ids=lambda p: p.name.removesuffix(".expected.json")
)
"""Parametrizes a test over the golden files' `*.expected.json` paths."""


@dataclass(frozen=True)
class GoldenCase:
    """One golden file: what it must yield, the native file, and its source's mapping."""

    catalogue: Catalogue
    expected: dict[str, Any]
    native: Path
    mapping: Mapping

    @classmethod
    def of(cls, expected_path: Path) -> GoldenCase:
        catalogue = load_catalogue()
        expected = json.loads(expected_path.read_text("utf-8"))
        return cls(
            catalogue,
            expected,
            GOLDEN / expected_path.name.removesuffix(".expected.json"),
            load_mappings(catalogue)[expected["source"]],
        )


def canonical_records(
    path: Path, mapping: Mapping, catalogue: Catalogue, organisation: str, now: dt.datetime
) -> list[dict[str, Any]]:
    mapper = Mapper(mapping, catalogue, organisation, now=now)
    out: list[dict[str, Any]] = []
    with path.open("rb") as stream:
        for raw in read(stream, mapping.format, required=mapping.required_columns):
            result = mapper.map(raw)
            if isinstance(result, Mapped):
                person = result.person.model_dump(mode="json", exclude={"rrn"})
                out.append(
                    {
                        "row": result.row,
                        "rrn_sha256": hashlib.sha256(result.rrn.canonical().encode()).hexdigest(),
                        "person": person,
                        "record": result.record.model_dump(mode="json"),
                    }
                )
            else:
                out.append(
                    {
                        "row": result.row,
                        "rejected": {"field": result.field, "reason": result.reason},
                    }
                )
    return out
