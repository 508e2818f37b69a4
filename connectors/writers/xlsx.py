"""Excel workbooks, written in openpyxl's write-only mode so rows stream to disk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from connectors.formats import XlsxFormat


def write_xlsx(
    path: Path,
    spec: XlsxFormat,
    columns: tuple[str, ...],
    rows: Iterable[Mapping[str, str | None]],
) -> int:
    """Header at `spec.header_row` (blank rows above it), text cells; None is an empty cell."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=spec.sheet or "Sheet1")
    for _ in range(spec.header_row - 1):
        sheet.append([])
    sheet.append(list(columns))
    written = 0
    for row in rows:
        sheet.append([_cell(sheet, row.get(name)) for name in columns])
        written += 1
    workbook.save(path)
    return written


def _cell(sheet: object, value: str | None) -> object:
    """Text stays text: openpyxl would otherwise store a value starting with `=` as a formula."""
    if value is not None and value.startswith("="):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value
