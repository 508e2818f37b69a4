"""Writers: every format round-trips through its reader, and the bytes are what sources send.

The last test runs the round trip at scale: files far larger than the memory either side may use.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from connectors.formats import (
    CsvFormat,
    FixedWidthFormat,
    JsonArrayFormat,
    JsonLinesFormat,
    XlsxFormat,
    XmlFormat,
)
from connectors.readers import RawRow, read
from connectors.writers import write
from connectors.writers.fixed_width import write_fixed_width

COLUMNS = ("주민등록번호", "성명", "급여개시일", "비고")
ROWS: list[dict[str, str | None]] = [
    {"주민등록번호": "900101-1234567", "성명": "홍길동", "급여개시일": "2024-01-01", "비고": None},
    {"주민등록번호": "850505-2345678", "성명": '김, "철수"', "급여개시일": None, "비고": "a&b<c>"},
    {"주민등록번호": "010101-3456789", "성명": "이영희"},  # missing keys count as None
]
EXPECTED = [{name: row.get(name) for name in COLUMNS} for row in ROWS]


def round_trip(tmp_path: Path, spec: Any, columns: tuple[str, ...] = COLUMNS) -> list[RawRow]:
    path = tmp_path / "out"
    assert write(path, spec, columns, iter(ROWS)) == len(ROWS)
    with path.open("rb") as stream:
        return list(read(stream, spec, required=columns[:2]))


def fields(got: list[RawRow]) -> list[dict[str, str | None]]:
    """Absent fields (omitted by JSON and XML) read as None, as the mapper sees them."""
    return [{name: row.fields.get(name) for name in COLUMNS} for row in got]


@pytest.mark.parametrize(
    "spec",
    [
        CsvFormat(kind="csv"),
        CsvFormat(kind="csv", encoding="cp949", delimiter="|"),
        CsvFormat(kind="csv", encoding="utf-8-sig", delimiter=";", quotechar="'"),
        XmlFormat(kind="xml", record="계약"),
        XmlFormat(kind="xml", record="계약", attributes=True),
        JsonLinesFormat(kind="jsonl"),
        JsonArrayFormat(kind="json"),
        JsonArrayFormat(kind="json", records_key="records"),
        XlsxFormat(kind="xlsx"),
        XlsxFormat(kind="xlsx", sheet="명단", header_row=3),
    ],
    ids=lambda spec: spec.kind,
)
def test_round_trip(tmp_path: Path, spec: Any) -> None:
    got = round_trip(tmp_path, spec)
    assert [row.number for row in got] == [1, 2, 3]
    assert fields(got) == EXPECTED


def test_csv_bytes_carry_the_declared_encoding_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write(path, CsvFormat(kind="csv", encoding="utf-8-sig"), COLUMNS, ROWS)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf" + "주민등록번호,".encode())
    write(path, CsvFormat(kind="csv", encoding="cp949"), COLUMNS, ROWS)
    assert path.read_bytes().startswith("주민등록번호,".encode("cp949"))


def test_csv_refuses_text_the_encoding_cannot_hold_without_quoting_it(tmp_path: Path) -> None:
    rows = [{"성명": "홍길동"}, {"성명": "Zoë 🙂"}]
    with pytest.raises(ValueError, match="cannot be encoded in euc-kr") as caught:
        write(tmp_path / "out.csv", CsvFormat(kind="csv", encoding="euc-kr"), ("성명",), rows)
    assert "Zo" not in str(caught.value)


def test_json_files_omit_none_and_count_records(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write(path, JsonArrayFormat(kind="json", records_key="records"), COLUMNS, ROWS)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["count"] == 3
    assert document["records"][2] == {"주민등록번호": "010101-3456789", "성명": "이영희"}
    write(path, JsonLinesFormat(kind="jsonl"), COLUMNS, ROWS)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3


def test_xml_is_declared_utf8_under_a_records_root(tmp_path: Path) -> None:
    path = tmp_path / "out.xml"
    write(path, XmlFormat(kind="xml", record="계약"), COLUMNS, ROWS)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<records>\n  <계약>')
    assert "<비고>a&amp;b&lt;c&gt;</비고>" in text
    with pytest.raises(ValueError, match="XML element name"):
        write(path, XmlFormat(kind="xml", record="계약"), ("성 명",), ROWS)


def test_xlsx_keeps_text_that_looks_like_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write(path, XlsxFormat(kind="xlsx"), ("비고",), [{"비고": "=1+1"}])
    sheet = load_workbook(path).active
    assert sheet is not None
    assert sheet["A2"].value == "=1+1"
    assert sheet["A2"].data_type == "s"
    with path.open("rb") as stream:
        assert next(read(stream, XlsxFormat(kind="xlsx"))).fields == {"비고": "=1+1"}


# Fixed width -------------------------------------------------------------------------------

MAINFRAME = FixedWidthFormat.model_validate(
    {
        "kind": "fixed_width",
        "encoding": "euc-kr",
        "record_length": 40,
        "columns": [
            {"name": "주민등록번호", "start": 2, "width": 14},
            {"name": "성명", "start": 16, "width": 7},
            {"name": "급여개시일", "start": 23, "width": 10},
            {"name": "비고", "start": 33, "width": 8},
        ],
        "record_type": {
            "start": 1,
            "width": 1,
            "data": "D",
            "header": "H",
            "trailer": "T",
            "trailer_count": {"name": "건수", "start": 2, "width": 7},
        },
    }
)


def test_fixed_width_round_trip_with_header_and_trailer(tmp_path: Path) -> None:
    got = round_trip(tmp_path, MAINFRAME)
    assert [(row.number, row.location) for row in got] == [
        (1, "line 2"),
        (2, "line 3"),
        (3, "line 4"),
    ]
    # 성명 is 7 bytes in EUC-KR: 김(2) ,(1) space(1) "(1) 철(2) fit, the rest is cut off.
    assert fields(got)[1] == {**EXPECTED[1], "성명": '김, "철'}
    assert fields(got)[0] == EXPECTED[0]


def test_fixed_width_bytes_are_exact_records(tmp_path: Path) -> None:
    path = tmp_path / "out.dat"
    write_fixed_width(path, MAINFRAME, COLUMNS, ROWS, created=date(2024, 5, 1))
    lines = path.read_bytes().split(b"\r\n")
    assert lines[-1] == b""
    records = lines[:-1]
    assert [len(record) for record in records] == [40] * 5
    assert records[0].startswith(b"H20240501")
    assert records[1] == "D900101-1234567홍길동 2024-01-01        ".encode("euc-kr")
    assert records[4].startswith(b"T0000003 ")


def test_fixed_width_without_record_types_or_record_length(tmp_path: Path) -> None:
    spec = FixedWidthFormat.model_validate(
        {
            "kind": "fixed_width",
            "encoding": "cp949",
            "columns": [
                {"name": "성명", "start": 1, "width": 5},
                {"name": "번호", "start": 6, "width": 2},
            ],
        }
    )
    path = tmp_path / "out.dat"
    assert (
        write(path, spec, ("성명", "번호"), [{"성명": "홍길동", "번호": "7"}, {"번호": "8"}]) == 2
    )
    assert path.read_bytes() == "홍길 7 \r\n     8 \r\n".encode("cp949")
    with path.open("rb") as stream:
        assert [row.fields for row in read(stream, spec)] == [
            {"성명": "홍길", "번호": "7"},
            {"성명": None, "번호": "8"},
        ]


def test_fixed_width_refuses_columns_outside_the_layout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not in the fixed-width layout: 주소"):
        write(tmp_path / "out.dat", MAINFRAME, ("성명", "주소"), ROWS)


# Large files -------------------------------------------------------------------------------

NOTE = "상담 내용 " * 60  # ~ 840 bytes: fat rows make a large file without a slow row count
LARGE = 30_000


def large_rows() -> Iterator[dict[str, str | None]]:
    for i in range(LARGE):
        yield {"번호": str(i), "성명": "홍길동", "메모": NOTE}


def traced_peak(work: Callable[[], int]) -> tuple[int, int]:
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "spec",
    [
        CsvFormat(kind="csv"),
        JsonArrayFormat(kind="json", records_key="data"),
        XmlFormat(kind="xml", record="계약"),
    ],
    ids=lambda spec: spec.kind,
)
def test_large_files_stream_in_bounded_memory(tmp_path: Path, spec: Any) -> None:
    """Writer and reader each hold a few MB at most, whatever the file size."""
    path = tmp_path / "large"
    written, write_peak = traced_peak(
        lambda: write(path, spec, ("번호", "성명", "메모"), large_rows())
    )
    assert path.stat().st_size > 25_000_000
    with path.open("rb") as stream:
        count, read_peak = traced_peak(
            lambda: sum(1 for _ in read(stream, spec, required=("번호",)))
        )
    assert written == count == LARGE
    assert write_peak < 3_000_000
    assert read_peak < 3_000_000
