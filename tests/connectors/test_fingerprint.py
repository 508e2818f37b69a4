"""A row's fingerprint decides whether a re-sent record changed (hub.ingest.records), and
stored fingerprints must keep matching after an upgrade: the text hashed is the canonical
RRN followed by "name=value" for each mapped field but the RRN, sorted by name and joined by
\\x1f, each value as `str` gives it. Checked here against that formula, written out plainly,
over every golden file; and the flat form the pipeline uses carries the same values."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from connectors.mapper import Mapped, Mapper, Rejection, Staged
from connectors.readers import read
from connectors.readers.base import RawRow
from tests.connectors.golden.canonical import GOLDEN, NOW, GoldenCase, each_golden_file


def _formula(rrn: str, values: dict[str, object]) -> str:
    content = "\x1f".join(f"{name}={values[name]}" for name in sorted(values) if name != "rrn")
    return hashlib.sha256((rrn + content).encode()).hexdigest()


@each_golden_file
def test_fingerprint_is_the_documented_formula(expected_path: Path) -> None:
    case = GoldenCase.of(expected_path)
    mapping = case.mapping
    mapper = Mapper(mapping, case.catalogue, case.expected["organisation"], now=NOW)
    checked = 0
    with case.native.open("rb") as stream:
        for raw in read(stream, mapping.format, required=mapping.required_columns):
            mapped = mapper.map(raw)
            staged = mapper.stage(raw)
            if isinstance(mapped, Rejection):
                assert staged == mapped
                continue
            assert isinstance(mapped, Mapped)
            assert isinstance(staged, Staged)
            values = mapper._values(raw)
            assert mapped.fingerprint == _formula(mapped.rrn.canonical(), values)
            assert staged.fingerprint == mapped.fingerprint
            assert staged.rrn == mapped.rrn.canonical()
            assert staged.record == mapped.record.model_dump()
            assert (staged.name, staged.birth_date, staged.sex) == (
                mapped.person.name,
                mapped.person.birth_date,
                mapped.person.sex,
            )
            checked += 1
    assert checked > 0


def test_the_flat_form_does_not_print_personal_data() -> None:
    staged = Staged(
        row=3,
        location="line 4",
        rrn="8001011234567",
        name="홍길동",
        birth_date=dt.date(1980, 1, 1),
        sex="male",
        region_code="11110",
        household_id="H-1",
        key="R-1",
        fingerprint="0" * 64,
        record={},
    )
    shown = f"{staged!r} {staged!s}"
    assert "8001011234567" not in shown
    assert "홍길동" not in shown
    assert "line 4" in shown


def test_a_bad_key_on_a_remembered_person_is_rejected_as_on_a_new_one() -> None:
    case = GoldenCase.of(GOLDEN / "mohw.csv.expected.json")
    mapping = case.mapping
    fields = {
        "급여ID": "HE1",
        "가구번호": "H1",
        "주민등록번호": "950419-1839221",
        "성명": "하태호",
        "시군구코드": "11710",
        "사업코드": "5001",
        "급여개시일": "20230101",
        "급여종료일": "20230630",
        "상태": "09",
        "지급액": None,
    }
    first = RawRow(1, "line 2", fields)
    # A space is not allowed in a record id; the period's end is before its start too, and
    # the key is what a fresh mapper names (the person's fields are checked first).
    bad = RawRow(2, "line 3", fields | {"급여ID": "HE 2", "급여종료일": "20221231"})
    shared = Mapper(mapping, case.catalogue, "MOHW", now=NOW)
    assert isinstance(shared.stage(first), Staged)
    rejected = shared.stage(bad)
    fresh = Mapper(mapping, case.catalogue, "MOHW", now=NOW).stage(bad)
    assert isinstance(rejected, Rejection)
    assert rejected == fresh
    assert rejected.field == "source_record_id"
    again = shared.map(RawRow(3, "line 4", fields | {"급여ID": "HE3"}))
    assert isinstance(again, Mapped)
    assert again.person.source_record_id == "HE3"  # the row's own key, not the first row's
