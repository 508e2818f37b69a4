"""The xlsx reader streams a sheet's XML itself; openpyxl, reading the same workbook in its own
read-only mode, is the independent judge of what each cell says.

The sheets here are written by hand where Excel writes what openpyxl's writer does not:
shared strings with a phonetic guide, formulas with cached results, error cells, ISO date
cells, cells and rows without references, gaps between cells and between rows.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from connectors.formats import XlsxFormat
from connectors.readers import FileStructureError, read
from connectors.readers.xlsx import _text

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

SHARED = f"""<?xml version="1.0" encoding="UTF-8"?>
<sst xmlns="{MAIN}" count="3" uniqueCount="3">
<si><t>성명</t></si>
<si><t>구분</t></si>
<si><r><t>김</t></r><r><rPr><b/></rPr><t>민지</t></r><rPh sb="0" eb="1"><t>キム</t></rPh></si>
</sst>"""

SHEET = f"""<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="{MAIN}"><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>
<c r="C1" t="inlineStr"><is><t>금액</t></is></c><c r="D1" t="inlineStr"><is><t>일자</t></is></c>
<c r="E1" t="inlineStr"><is><t>비고</t></is></c></row>
<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="str"><f>B1&amp;"1"</f><v>구분1</v></c>
<c r="C2"><f>SUM(1,2)</f><v>3</v></c><c r="D2" s="1"><v>45356</v></c>
<c r="E2" t="e"><v>#N/A</v></c></row>
<row r="5"><c r="A5" t="inlineStr"><is><r><t>이</t></r><r><t xml:space="preserve"> 서준 </t></r>
<rPh sb="0" eb="1"><t>イ</t></rPh></is></c><c r="C5"><v>1.5E3</v></c>
<c r="D5" t="d"><v>2024-03-05T14:30:05</v></c><c r="E5" t="b"><v>1</v></c></row>
<row><c t="inlineStr"><is><t>박</t></is></c><c><v>-7</v></c><c r="E6" s="1"><v>45356.5</v></c></row>
<row r="7"><c r="B7" t="inlineStr"><is><t>빈칸 뒤</t></is></c></row>
</sheetData></worksheet>"""


SHARED_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def crafted_workbook() -> bytes:
    """An openpyxl workbook whose sheet is replaced by the one above, with the shared-strings
    part added (and declared in the package's content types); its style 1 is a date format
    (openpyxl's writer records it for the date cell)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "자리"
    sheet["B1"] = date(2024, 1, 1)
    written = io.BytesIO()
    book.save(written)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(written.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for name in source.namelist():
            part = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                part = SHEET.encode()
            elif name == "[Content_Types].xml":
                declared = (
                    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_TYPE}"/>'
                )
                part = part.replace(b"</Types>", declared.encode() + b"</Types>")
            target.writestr(name, part)
        target.writestr("xl/sharedStrings.xml", SHARED)
    return out.getvalue()


def openpyxl_rows(data: bytes) -> list[list[str | None]]:
    """The sheet's non-empty rows as openpyxl reads them, rendered the reader's way."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        rendered = [[_text(v) for v in values] for values in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return [row for row in rendered if any(row)]


def test_a_crafted_sheet_reads_as_openpyxl_reads_it() -> None:
    data = crafted_workbook()
    expected = openpyxl_rows(data)
    header, *body = expected
    got = list(read(io.BytesIO(data), XlsxFormat(kind="xlsx")))
    assert [list(row.fields) for row in got] == [header] * len(body)
    assert [list(row.fields.values()) for row in got] == [
        (row + [None] * len(header))[: len(header)] for row in body
    ]
    # What the judge says, spelled out: the phonetic guide is not text, a formula is its
    # cached result, a date style makes a serial a date, gaps are empty cells.
    assert got[0].fields == {
        "성명": "김민지",
        "구분": "구분1",
        "금액": "3",
        "일자": "2024-03-05",
        "비고": "#N/A",
    }
    assert (got[1].location, got[1].fields["성명"], got[1].fields["구분"]) == (
        "row 5",
        "이 서준",
        None,
    )
    assert (got[1].fields["금액"], got[1].fields["일자"], got[1].fields["비고"]) == (
        "1500",
        "2024-03-05T14:30:05",
        "true",
    )
    assert got[2].location == "row 6"  # a row without a reference follows the one before
    assert (got[2].fields["성명"], got[2].fields["구분"], got[2].fields["비고"]) == (
        "박",
        "-7",
        "2024-03-05T12:00:00",
    )
    assert got[3].fields["구분"] == "빈칸 뒤"


@pytest.mark.parametrize(
    "values",
    [
        ["김민지", date(1990, 1, 1), datetime(2024, 3, 5, 14, 30, 5), 150000, 0.25],  # noqa: DTZ001
        [3.0, True, False, time(9, 30), -1e-3],
        [None, "  공백  ", None, 1_000_000_000_000, "=1+1"],
    ],
)
def test_openpyxl_written_cells_read_as_openpyxl_reads_them(values: list[Any]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["a", "b", "c", "d", "e"])
    sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    (expected,) = openpyxl_rows(data)[1:]
    (got,) = read(io.BytesIO(data), XlsxFormat(kind="xlsx"))
    assert list(got.fields.values()) == (expected + [None] * 5)[:5]


@pytest.mark.parametrize(
    "sheet",
    [
        SHEET.replace('<row r="7">', '<row r="4">'),  # rows out of order
        SHEET.replace('r="C5"', 'r="A5"', 1),  # a cell before its row's previous one
        SHEET.replace('<v>2</v></c><c r="B2"', '<v>9</v></c><c r="B2"'),  # no such string
        SHEET[: len(SHEET) // 2],  # cut off
    ],
)
def test_a_broken_sheet_is_refused_with_where_it_broke(sheet: str) -> None:
    data = crafted_workbook()
    broken = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(broken, "w") as target,
    ):
        for name in source.namelist():
            text = sheet if name == "xl/worksheets/sheet1.xml" else source.read(name)
            target.writestr(name, text)
    with pytest.raises(FileStructureError) as caught:
        list(read(io.BytesIO(broken.getvalue()), XlsxFormat(kind="xlsx")))
    assert caught.value.message == "not a readable xlsx workbook"
    assert caught.value.location is not None
    assert caught.value.location.startswith("row ")
    assert "김민지" not in str(caught.value)
