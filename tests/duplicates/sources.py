"""Native files of the real sources, written in tests: 행복e음 CSV (mohw), the forest offices'
workbook (kfs) and the welfare centres' SSIS export (ssis), and ingesting them."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import aliased

from connectors.registry import load_mappings
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.duplicates.models import DuplicateFinding
from hub.ingest.service import Report, ingest_file
from hub.records.models import Enrolment
from hub.vault import KeySet
from schemas.catalogue import load_catalogue

REGION = "1135010500"  # 서울 노원구


@dataclass(frozen=True)
class Row:
    """One enrolment row, in canonical terms; each writer renders it natively."""

    record_id: str
    rrn: str
    programme: str
    start: dt.date
    end: dt.date | None = None
    status: str = "active"
    household: str | None = None
    name: str = "김시험"


MOHW_CODES = {"MOHW-SELF-SUPPORT-WORK": "1301", "MOHW-BLS-LIVELIHOOD": "1001"}
MOHW_STATUS = {"active": "01", "suspended": "02", "ended": "09"}
SSIS_KINDS = {"PRIV-FOOD": "식품", "PRIV-CASH": "현금", "PRIV-GOODS": "물품"}


def mohw_csv(rows: list[Row]) -> bytes:
    header = (
        "주민등록번호,성명,시군구코드,가구번호,급여ID,사업코드,급여개시일,급여종료일,상태,지급액"
    )
    lines = [header]
    for r in rows:
        end = r.end.strftime("%Y%m%d") if r.end else "99991231"
        lines.append(
            f"{r.rrn},{r.name},{REGION[:5]},{r.household or ''},{r.record_id},"
            f"{MOHW_CODES[r.programme]},{r.start:%Y%m%d},{end},{MOHW_STATUS[r.status]},500000"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp949")


def _xlsx(sheet: str | None, header: list[str], rows: list[list[object]]) -> bytes:
    book = Workbook()
    page = book.active
    assert page is not None
    if sheet:
        page.title = sheet
    page.append(header)
    for row in rows:
        page.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def kfs_xlsx(rows: list[Row]) -> bytes:
    status = {"active": "참여중", "suspended": "중단", "ended": "종료"}
    return _xlsx(
        None,
        [
            "참여자번호",
            "주민등록번호",
            "성명",
            "주소지코드",
            "사업구분",
            "참여시작일",
            "참여종료일",
            "참여상태",
            "지급액",
        ],
        [
            [
                r.record_id,
                r.rrn,
                r.name,
                REGION[:5],
                "숲가꾸기",
                f"{r.start:%Y-%m-%d}",
                f"{r.end:%Y-%m-%d}" if r.end else None,
                status[r.status],
                1200000,
            ]
            for r in rows
        ],
    )


def ssis_xlsx(rows: list[Row]) -> bytes:
    """A welfare centre's support acts (one day each, so start is the support date)."""
    return _xlsx(
        "지원내역",
        [
            "지원번호",
            "세대번호",
            "주민등록번호",
            "성명",
            "행정구역코드",
            "지원분류",
            "지원일자",
            "지원금액",
        ],
        [
            [
                r.record_id,
                r.household,
                r.rrn,
                r.name,
                REGION,
                SSIS_KINDS[r.programme],
                f"{r.start:%Y-%m-%d}",
                50000,
            ]
            for r in rows
        ],
    )


class Sources:
    """Ingests native files into one database as their organisations send them."""

    def __init__(self, db: Database, keys_file: Path) -> None:
        self.db = db
        self.keys = KeySet.load(keys_file)
        self.catalogue = load_catalogue()
        self.mappings = load_mappings(self.catalogue)

    async def ready(self) -> None:
        await catalogue_service.sync_if_changed(self.db, self.catalogue)

    async def send(self, source: str, organisation: str, content: bytes) -> Report:
        report = await ingest_file(
            self.db,
            keyset=self.keys,
            catalogue=self.catalogue,
            mapping=self.mappings[source],
            organisation=organisation,
            stream=io.BytesIO(content),
        )
        assert report.batch.status == "completed"
        assert report.batch.rejected == 0, report.first_rejections
        return report


async def findings_among(db: Database, record_ids: set[str]) -> list[tuple]:
    """(rule, record a, record b, overlap start, overlap end, found_by) for findings whose
    enrolments carry these source record ids."""
    ea, eb = aliased(Enrolment), aliased(Enrolment)
    async with db.transaction() as session:
        rows = await session.execute(
            select(
                DuplicateFinding.rule_id,
                ea.source_record_id,
                eb.source_record_id,
                DuplicateFinding.overlap_start,
                DuplicateFinding.overlap_end,
                DuplicateFinding.found_by,
            )
            .join(ea, ea.id == DuplicateFinding.enrolment_a)
            .join(eb, eb.id == DuplicateFinding.enrolment_b)
            .where(ea.source_record_id.in_(record_ids) | eb.source_record_id.in_(record_ids))
            .order_by(ea.source_record_id)
        )
        return [tuple(r) for r in rows]
