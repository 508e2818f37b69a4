"""What a native file yields, as plain JSON: per data row either the canonical records (the
RRN only as its SHA-256) or the rejection (field and reason)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from connectors.mapper import Mapped, Mapper
from connectors.mapping import Mapping
from connectors.readers import read
from schemas.catalogue import Catalogue

GOLDEN = Path(__file__).parent
NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
"""The clock the golden files were made with (ages and dates relative to it)."""
EXPECTED = sorted(GOLDEN.glob("*.expected.json"))


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
