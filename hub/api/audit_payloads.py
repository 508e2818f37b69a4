"""Wire payloads of the disclosure-log API (hub.api.audit): requests, entries, reports,
proofs, and the CSV form of an entry (the JSON list's values, lists joined by spaces)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from audit import queries
from hub.api.disclosing import SubjectIn
from hub.oversight.service import Report
from schemas.common import DataCategoryCode, PurposeCode
from schemas.disclosure import Decision, Disclosure


def _valid_cursor(value: str | None) -> str | None:
    if value is not None:
        queries.decode_cursor(value)  # InvalidCursor is a ValueError: a 422 naming the field
    return value


Cursor = Annotated[
    str | None,
    Field(max_length=64, description="`next_cursor` of the previous page."),
    AfterValidator(_valid_cursor),
]
Limit = Annotated[int, Field(ge=1, le=queries.MAX_LIMIT, description="Entries per page.")]


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    cursor: Cursor = None
    limit: Limit = 50


class SubjectReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: SubjectIn
    purpose: PurposeCode = Field(
        description="`audit.oversight` (auditors) or `subject.access` (a body serving the "
        "person, answering their PIPA §35 request)."
    )


class EntryOut(BaseModel):
    """A log entry as recorded, with its leaf index once sequenced."""

    entry_id: int
    leaf_index: int | None
    recorded_at: dt.datetime
    action: str
    organisation: str
    client_id: str | None
    actor: str | None
    subject_ref: str | None = Field(description="The person's pseudonym in the log (`lsr_…`).")
    purpose: str
    basis: str | None
    data_categories: list[str]
    fields: list[str]
    decision: Decision
    reason: str
    request_id: str | None
    rule_set_hash: str


class DisclosurePage(BaseModel):
    items: list[EntryOut]
    count: int
    next_cursor: str | None = Field(description="Send as `cursor` for the next page; null: last.")


class ReportItem(BaseModel):
    recorded_at: dt.datetime
    action: str
    organisation: str
    actor: str | None
    purpose: str
    basis: str | None
    data_categories: list[DataCategoryCode]
    decision: Decision
    leaf_index: int | None


class SubjectReport(BaseModel):
    purpose: str
    basis: str = Field(description="The legal basis this report was released on.")
    as_of: dt.datetime
    items: list[ReportItem] = Field(description="Oldest first.")
    count: int


class SequencedEntry(BaseModel):
    index: int
    entry: Disclosure = Field(description="Its RFC 8785 canonical JSON is the Merkle leaf.")
    leaf_hash: str = Field(description="Base64 SHA-256(0x00 ‖ canonical entry), as stored.")


class InclusionProof(BaseModel):
    index: int
    size: int
    leaf_hash: str
    proof: list[str] = Field(description="PATH(index, D[size]), base64 (RFC 9162 §2.1.3).")
    root: str = Field(description="The root at `size`, base64.")


class ConsistencyProof(BaseModel):
    old: int
    new: int
    proof: list[str] = Field(description="PROOF(old, D[new]), base64 (RFC 9162 §2.1.4).")
    old_root: str
    new_root: str


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def entry_out(item: queries.Listed) -> EntryOut:
    row = item.entry
    return EntryOut(
        entry_id=row.id,
        leaf_index=item.leaf_index,
        recorded_at=row.recorded_at,
        action=row.action,
        organisation=row.organisation,
        client_id=row.client_id,
        actor=row.actor,
        subject_ref=row.subject_ref,
        purpose=row.purpose,
        basis=row.basis,
        data_categories=list(row.data_categories),
        fields=list(row.fields),
        decision=Decision(row.decision),
        reason=row.reason,
        request_id=row.request_id,
        rule_set_hash=row.rule_set_hash,
    )


def page_out(page: queries.Page) -> DisclosurePage:
    items = [entry_out(item) for item in page.items]
    return DisclosurePage(items=items, count=len(items), next_cursor=page.next_cursor)


def report_out(report: Report, as_of: dt.datetime) -> SubjectReport:
    items = [
        ReportItem(
            recorded_at=item.entry.recorded_at,
            action=item.entry.action,
            organisation=item.entry.organisation,
            actor=item.entry.actor,
            purpose=item.entry.purpose,
            basis=item.entry.basis,
            data_categories=list(item.entry.data_categories),
            decision=Decision(item.entry.decision),
            leaf_index=item.leaf_index,
        )
        for item in report.items
    ]
    return SubjectReport(
        purpose=report.purpose, basis=report.basis, as_of=as_of, items=items, count=len(items)
    )


CSV_COLUMNS = list(EntryOut.model_fields)


def _csv_cell(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


async def csv_chunks(batches: AsyncIterable[list[queries.Listed]]) -> AsyncIterator[str]:
    """The header, then one chunk of CSV text per batch of entries."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    async for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        for item in batch:
            values = entry_out(item).model_dump(mode="json")
            writer.writerow([_csv_cell(values[column]) for column in CSV_COLUMNS])
        yield buffer.getvalue()
