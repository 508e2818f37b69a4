"""Readers: locations, value cleaning, the required-column check and every structural refusal.

Structural errors must say where and what, never quote the file: every refusal below is checked
against the personal data the broken file holds (an RRN and a name).
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from connectors.formats import (
    CsvFormat,
    FixedWidthFormat,
    JsonArrayFormat,
    JsonLinesFormat,
    XlsxFormat,
    XmlFormat,
)
from connectors.readers import FileStructureError, RawRow, read

RRN = "900101-1234567"
NAME = "홍길동"
CSV = CsvFormat(kind="csv")
XML = XmlFormat(kind="xml", record="계약")
JSONL = JsonLinesFormat(kind="jsonl")
JSON = JsonArrayFormat(kind="json")
FIXED = FixedWidthFormat.model_validate(
    {
        "kind": "fixed_width",
        "record_length": 30,
        "columns": [
            {"name": "주민등록번호", "start": 2, "width": 14},
            {"name": "성명", "start": 16, "width": 10},
            {"name": "금액", "start": 26, "width": 5},
        ],
        "record_type": {
            "start": 1,
            "width": 1,
            "data": "D",
            "header": "H",
            "trailer": "T",
            "trailer_count": {"name": "count", "start": 2, "width": 6},
        },
    }
)


def rows(data: bytes, spec: Any, required: tuple[str, ...] = ()) -> list[RawRow]:
    return list(read(io.BytesIO(data), spec, required=required))


def refusal(data: bytes, spec: Any, required: tuple[str, ...] = ()) -> FileStructureError:
    with pytest.raises(FileStructureError) as caught:
        rows(data, spec, required)
    text = str(caught.value)
    for secret in (RRN, NAME, "1234567"):  # the whole RRN, the name, a fragment of the RRN
        assert secret not in text
    return caught.value


# CSV ---------------------------------------------------------------------------------------


def test_csv_locations_are_physical_lines_and_values_are_cleaned() -> None:
    data = f'성명,주민등록번호,메모\n{NAME}, {RRN} ,\n\n"여러\n줄",{RRN},x\n'.encode()
    got = rows(data, CSV)
    assert [(r.number, r.location) for r in got] == [(1, "line 2"), (2, "line 4")]
    assert got[0].fields == {"성명": NAME, "주민등록번호": RRN, "메모": None}
    assert got[1].fields["성명"] == "여러\n줄"


def test_csv_cp949_with_semicolons_and_a_bom_read_as_plain_utf8() -> None:
    spec = CsvFormat(kind="csv", encoding="cp949", delimiter=";")
    assert rows(f"성명;번호\n{NAME};1\n".encode("cp949"), spec)[0].fields["성명"] == NAME
    bom = "\ufeff성명,번호\r\n홍,1\r\n".encode()
    assert rows(bom, CSV, required=("성명",))[0].fields == {"성명": "홍", "번호": "1"}


def test_csv_ragged_rows_are_row_problems_not_file_problems() -> None:
    got = rows(b"a,b,c\n1,2,3,4,5\n1\n1,2,3,,\n", CSV)
    assert got[0].fields == {"a": "1", "b": "2", "c": "3", "__extra__": "4,5"}
    assert got[1].fields == {"a": "1", "b": None, "c": None}
    assert "__extra__" not in got[2].fields


def test_csv_header_only_yields_nothing_and_an_empty_file_is_refused() -> None:
    assert rows(b"a,b\n", CSV) == []
    assert refusal(b"", CSV).message == "empty file"
    assert refusal(b"\n\n", CSV).message == "empty file"


def test_csv_missing_required_column_names_the_column_and_header_line() -> None:
    error = refusal(f"성명,주민등록번호\n{NAME},{RRN}\n".encode(), CSV, ("급여개시일",))
    assert (error.message, error.location) == ("missing column 급여개시일", "line 1")


def test_csv_wrong_encoding_names_the_line() -> None:
    data = f"name,rrn\nA,1\nB,2\n{NAME},{RRN}\n".encode("cp949")
    error = refusal(data, CSV)
    assert (error.message, error.location) == ("not valid utf-8 text", "line 4")


def test_csv_wrong_encoding_deep_in_a_file_names_its_line() -> None:
    """Lines are decoded in batches (csv.LINES_AT_ONCE); the one that fails is still named."""
    lines = [f"{NAME}{i},{RRN}\n".encode() for i in range(1, 1000)]
    lines[699] = f"{NAME},{RRN}\n".encode("cp949")  # line 701, after the header
    error = refusal(b"name,rrn\n" + b"".join(lines), CSV)
    assert (error.message, error.location) == ("not valid utf-8 text", "line 701")
    truncated = (b"name,rrn\n" + b"".join(lines[:600]) + NAME.encode())[:-1]
    error = refusal(truncated, CSV)  # ends inside a character, after 601 whole lines
    assert (error.message, error.location) == ("not valid utf-8 text", "line 602")


@pytest.mark.parametrize("encoding", ["cp949", "utf-16", "utf-8-sig"])
def test_csv_batches_of_lines_read_as_the_whole_text(encoding: str) -> None:
    """Many lines in an encoding whose bytes split cleanly at b"\\n" and one whose don't."""
    text = "성명,번호\r\n" + "".join(f'{NAME}{i},"{i}\n{NAME}"\r\n' for i in range(2000))
    read_rows = rows(text.encode(encoding), CsvFormat(kind="csv", encoding=encoding))
    assert [r.fields for r in read_rows] == [
        {"성명": f"{NAME}{i}", "번호": f"{i}\n{NAME}"} for i in range(2000)
    ]
    assert read_rows[-1].location == f"line {2 + 2 * 1999}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (f'a,b\n1,"{NAME}\n'.encode(), "malformed CSV"),
        (f'a,b\n"{NAME}"x,1\n'.encode(), "malformed CSV"),
        (b"a,,b\n1,2,3\n", "column 2 has no name"),
        (b"a,a\n1,2\n", "duplicate column a"),
    ],
)
def test_csv_broken_structure(data: bytes, message: str) -> None:
    error = refusal(data, CSV)
    assert error.message.startswith(message)
    assert error.location is not None


def test_csv_refuses_a_line_without_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.readers.text.MAX_LINE_BYTES", 64)
    error = refusal(b"a,b\n" + RRN.encode() * 10, CSV)
    assert error.location == "line 2"


# Fixed width -------------------------------------------------------------------------------


def fixed(*records: str, encoding: str = "euc-kr") -> bytes:
    return b"".join(r.encode(encoding).ljust(30, b" ") + b"\r\n" for r in records)


GOOD = ("H20240101", f"D{RRN}{NAME}    00100", f"D{RRN}김철수    00200", "T000002")


def test_fixed_width_slices_bytes_and_skips_header_and_trailer() -> None:
    got = rows(fixed(*GOOD), FIXED)
    assert [(r.number, r.location) for r in got] == [(1, "line 2"), (2, "line 3")]
    assert got[0].fields == {"주민등록번호": RRN, "성명": NAME, "금액": "00100"}


@pytest.mark.parametrize(
    ("records", "message", "location"),
    [
        (GOOD[:3], "truncated: trailer record missing", None),
        ((*GOOD[:2], "T000003"), "trailer says 3 records, file has 1", "line 3"),
        ((*GOOD[:2], "T00000x"), "trailer count is not a number", "line 3"),
        ((*GOOD, GOOD[1]), "record after the trailer record", "line 5"),
        (GOOD[1:], "header record missing", "line 1"),
        ((GOOD[0], *GOOD), "header record is not the first record", "line 2"),
        ((GOOD[0], f"X{RRN}", GOOD[3]), "unknown record type", "line 2"),
    ],
)
def test_fixed_width_completeness(
    records: tuple[str, ...], message: str, location: str | None
) -> None:
    error = refusal(fixed(*records), FIXED)
    assert (error.message, error.location) == (message, location)


def test_fixed_width_short_record_and_broken_encoding_name_the_line() -> None:
    data = fixed(*GOOD[:2]) + f"D{RRN}{NAME}".encode("euc-kr") + b"\n" + fixed(GOOD[3])
    error = refusal(data, FIXED)
    assert (error.message, error.location) == ("record is 21 bytes, expected 30", "line 3")
    # A record whose 성명 starts a byte early: 주민등록번호 ends inside a Hangul syllable.
    shifted = fixed(GOOD[0], f"D{RRN[:-1]}{NAME}     00100", "T000001")
    error = refusal(shifted, FIXED)
    assert error.message == "column 주민등록번호 is not valid euc-kr text"
    assert error.location == "line 2"


# XML ---------------------------------------------------------------------------------------


def test_xml_records_anywhere_with_namespaces_and_attributes() -> None:
    data = f"""<?xml version="1.0" encoding="UTF-8"?>
<n:목록 xmlns:n="urn:moe"><n:머리><건수>2</건수></n:머리><n:본문>
  <n:계약 번호=" 7 "><n:성명> {NAME} </n:성명><n:금액>100</n:금액><n:비고/></n:계약>
  <n:계약 번호="8"><n:성명>김</n:성명></n:계약>
</n:본문></n:목록>""".encode()
    got = rows(data, XmlFormat(kind="xml", record="계약", attributes=True), ("성명",))
    assert got[0] == RawRow(1, "record 1", {"번호": "7", "성명": NAME, "금액": "100", "비고": None})
    assert got[1].fields == {"번호": "8", "성명": "김"}
    assert rows(data, XML, ("금액",))[1].fields == {"성명": "김"}  # required: first record only
    error = refusal(data, XML, ("주민등록번호",))
    assert (error.message, error.location) == ("missing column 주민등록번호", "record 1")


@pytest.mark.parametrize(
    ("data", "message", "location"),
    [
        (f"<r>\n<계약><성명>{NAME}</성명></계약>\n<계약><성명>{RRN}", "malformed XML", "line 3"),
        (f"<r>\n<계약><성명>{NAME}</이름></계약></r>", "malformed XML", "line 2"),
        (f"<r><계약><성명>{NAME}</성명><성명>{RRN}</성명></계약></r>", "element 성명", "record 1"),
    ],
)
def test_xml_broken_structure(data: str, message: str, location: str) -> None:
    error = refusal(data.encode(), XML)
    assert error.message.startswith(message)
    assert error.location == location


def test_xml_does_not_resolve_external_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(RRN)
    data = f"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>
<r><계약><성명>&leak;</성명></계약></r>""".encode()
    error = refusal(data, XML)  # the file's contents never reach the row or the message
    assert error.message == "malformed XML: undefined entity"


def test_xml_entity_expansion_is_capped() -> None:
    entities = ['<!ENTITY a "aaaaaaaaaa">'] + [
        f'<!ENTITY {new} "{("&" + old + ";") * 10}">'
        for old, new in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    data = f"<!DOCTYPE r [{''.join(entities)}]><r><계약><성명>&i;</성명></계약></r>"
    assert refusal(data.encode(), XML).message.startswith("malformed XML")


# JSON Lines and JSON arrays ----------------------------------------------------------------


def test_jsonl_values_become_text() -> None:
    data = (
        b"\xef\xbb\xbf"
        + json.dumps(
            {"a": 12, "b": True, "c": None, "d": " x ", "e": 0.50, "f": {"g": [1]}}
        ).encode()
        + b"\n\n"
        + b'{"a": 1.50}\n'
    )
    got = rows(data, JSONL, ("a",))
    assert got[0] == RawRow(
        1, "record 1", {"a": "12", "b": "true", "c": None, "d": "x", "e": "0.5", "f": '{"g": [1]}'}
    )
    assert got[1] == RawRow(2, "record 2", {"a": "1.50"})


@pytest.mark.parametrize(
    ("line", "message"),
    [(f'["{RRN}"]', "not a JSON object"), (f'{{"a": "{RRN}"', "not valid JSON")],
)
def test_jsonl_bad_line(line: str, message: str) -> None:
    error = refusal(f'{{"a": "{NAME}"}}\n\n{line}\n'.encode(), JSONL)
    assert (error.message, error.location) == (message, "line 3")


def test_jsonl_required_and_bad_encoding() -> None:
    error = refusal(f'{{"성명": "{NAME}"}}\n'.encode(), JSONL, ("번호",))
    assert (error.message, error.location) == ("missing column 번호", "line 1")
    error = refusal(f'{{"a": "{NAME}"}}\n'.encode("cp949"), JSONL)
    assert (error.message, error.location) == ("not valid UTF-8 text", "line 1")


def array(count: int) -> str:
    return ",\n".join(
        json.dumps({"번호": i, "성명": NAME}, ensure_ascii=False) for i in range(count)
    )


def test_json_array_streams_records() -> None:
    got = rows(f"\ufeff [ {array(3)} ] \n".encode(), JSON, ("번호",))
    assert [(r.number, r.location, r.fields["번호"]) for r in got] == [
        (1, "record 1", "0"),
        (2, "record 2", "1"),
        (3, "record 3", "2"),
    ]
    assert rows(b"[]", JSON) == []


@pytest.mark.parametrize("shift", range(0, 40, 3))
def test_json_array_values_cut_by_the_read_window(shift: int) -> None:
    """Numbers and strings straddling the 64 KiB chunk edge are read whole."""
    head = "[" + " " * (65536 - 20 + shift)
    data = (head + '{"n": 1234567890123, "s": "가나다라마바"}, {"n": 2}]').encode()
    got = rows(data, JSON)
    assert [r.fields for r in got] == [{"n": "1234567890123", "s": "가나다라마바"}, {"n": "2"}]


def test_json_records_key_before_or_after_other_members() -> None:
    spec = JsonArrayFormat(kind="json", records_key="data")
    before = f'{{"meta": {{"x": [1, 2]}}, "data": [{array(2)}], "count": 2}}'
    after = f'{{"data": [{array(2)}], "count": 2}}'
    for text in (before, after):
        assert [r.number for r in rows(text.encode(), spec)] == [1, 2]
    error = refusal(b'{"rows": []}', spec)
    assert error.message == "no top-level key data"


@pytest.mark.parametrize(
    ("text", "message", "location"),
    [
        (f"[{array(2)}", "truncated JSON: the array is not closed", "record 3"),
        (f'[{array(2)}, {{"성명": "{NAME}', "truncated JSON: the array is not closed", "record 3"),
        (f'[{array(1)}, ["{RRN}"]]', "not a JSON object", "record 2"),
        (f'[{array(1)} {{"a": "{RRN}"}}]', "malformed JSON: expected ','", "record 2"),
        (f'[{array(1)}, {{"a": {RRN}}}]', "malformed JSON", "record 2"),
        (f'[{array(1)}] {{"a": "{RRN}"}}', "unexpected data after the JSON document", None),
        (f'{{"a": "{RRN}"}}', "top level is not a JSON array", None),
        ("", "empty file", None),
    ],
)
def test_json_array_broken_structure(text: str, message: str, location: str | None) -> None:
    error = refusal(text.encode(), JSON)
    assert (error.message, error.location) == (message, location)


def test_json_array_refuses_an_element_too_large_to_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.readers.json.MAX_VALUE_CHARS", 100_000)
    error = refusal(('[{"a": "' + "가" * 300_000).encode(), JSON)
    assert error.location == "record 1"


# XLSX --------------------------------------------------------------------------------------


def workbook_bytes(*rows_: list[Any], title: str = "Sheet") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows_:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Excel cells carry no time zone, so the workbook gets naive datetimes.
MIDNIGHT = datetime(2024, 3, 5, 0, 0)  # noqa: DTZ001
AFTERNOON = datetime(2024, 3, 5, 14, 30, 5)  # noqa: DTZ001
HEADINGS = ["성명", "생년월일", "신청일시", "금액", "비율", "정수실수", "수급", "시각"]
TYPED = workbook_bytes(
    HEADINGS,
    [NAME, date(1990, 1, 1), MIDNIGHT, 150000, 0.25, 3.0, True, time(9, 30)],
    [None, None, AFTERNOON, -7, 1e-3, None, False, None],
    [],
    [" ", None],
    ["김", None, None, None, None, None, None, None, "넘침"],
)


def test_xlsx_cells_become_text_as_people_read_them() -> None:
    got = rows(TYPED, XlsxFormat(kind="xlsx"), ("성명", "금액"))
    texts = [NAME, "1990-01-01", "2024-03-05", "150000", "0.25", "3", "true", "09:30:00"]
    assert got[0] == RawRow(1, "row 2", dict(zip(HEADINGS, texts, strict=True)))
    assert got[1].fields["신청일시"] == "2024-03-05T14:30:05"
    assert (got[1].fields["금액"], got[1].fields["비율"], got[1].fields["수급"]) == (
        "-7",
        "0.001",
        "false",
    )
    assert (got[2].number, got[2].location, got[2].fields["__extra__"]) == (3, "row 6", "넘침")


class OneWay(io.RawIOBase):
    """An upload stream that cannot seek, like a request body or a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_xlsx_from_a_stream_that_cannot_seek() -> None:
    got = list(read(OneWay(TYPED), XlsxFormat(kind="xlsx")))  # type: ignore[arg-type]
    assert [r.number for r in got] == [1, 2, 3]


def test_xlsx_sheet_header_row_and_structure_errors() -> None:
    data = workbook_bytes(["보고서"], [], ["성명", "번호"], [NAME, RRN], title="명단")
    spec = XlsxFormat(kind="xlsx", sheet="명단", header_row=3)
    assert rows(data, spec)[0] == RawRow(1, "row 4", {"성명": NAME, "번호": RRN})
    error = refusal(data, spec, ("급여개시일",))
    assert (error.message, error.location) == ("missing column 급여개시일", "row 3")
    assert refusal(data, XlsxFormat(kind="xlsx", sheet="없음")).message == "no sheet named 없음"
    error = refusal(data, XlsxFormat(kind="xlsx", header_row=9))
    assert error.message == "empty sheet: no header row"
    error = refusal(f"성명,번호\n{NAME},{RRN}\n".encode(), XlsxFormat(kind="xlsx"))
    assert error.message == "not a readable xlsx workbook"
    assert refusal(data[: len(data) // 2], spec).message == "not a readable xlsx workbook"
