"""Reading the disclosure log: filtered lists with cursor pagination, streams for export, one
person's history, and the entry at a leaf index.

Order. Lists run newest first, by entry id descending; ids are unique and never change, so
the order is stable. A cursor names the last id a page returned and the next page starts
below it, so a walk through the pages never repeats an entry and misses none that had
committed when the walk began (an entry committed later may appear if its id is below the
cursor, or not at all; it will be in the next walk).

Each row carries the entry's leaf index once the sequencer has given it one (None before).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import AuditLeaf, DisclosureEntry

MAX_LIMIT: Final = 500
_CURSOR: Final = re.compile(r"e([1-9][0-9]{0,18})")


class InvalidCursor(ValueError):
    """A cursor that this module did not issue."""


@dataclass(frozen=True)
class Filters:
    """What to list; every given criterion must hold. Times: `since` ≤ recorded_at < `until`."""

    organisation: str | None = None
    purpose: str | None = None
    decision: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    subject_refs: tuple[str, ...] | None = None
    """The person's pseudonyms in the log (one per pseudonym key); () matches nothing."""

    def described(self) -> str:
        """The criteria in words, for the auditor query's own log entry (no personal data:
        subject pseudonyms are left out, the entry's subject_ref carries the person)."""
        parts = [
            f"{name}={value.isoformat() if isinstance(value, dt.datetime) else value}"
            for name, value in (
                ("organisation", self.organisation),
                ("purpose", self.purpose),
                ("decision", self.decision),
                ("from", self.since),
                ("until", self.until),
            )
            if value is not None
        ]
        if self.subject_refs is not None:
            parts.append("subject")
        return ", ".join(parts) if parts else "none"


@dataclass(frozen=True)
class Listed:
    """An entry as stored, with its leaf index if it has been sequenced."""

    entry: DisclosureEntry
    leaf_index: int | None


@dataclass(frozen=True)
class Page:
    items: list[Listed]
    next_cursor: str | None
    """Pass it back to get the next page; None on the last page."""


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"e{entry_id}".encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The entry id a cursor names; `InvalidCursor` for anything not made by `encode_cursor`."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidCursor("the cursor is not one this API issued") from None
    match = _CURSOR.fullmatch(text)
    if match is None or encode_cursor(int(match[1])) != cursor:
        raise InvalidCursor("the cursor is not one this API issued")
    return int(match[1])


def _listing(filters: Filters) -> Select[DisclosureEntry, int]:
    query = select(DisclosureEntry, AuditLeaf.leaf_index).outerjoin(
        AuditLeaf, AuditLeaf.entry_id == DisclosureEntry.id
    )
    conditions: list[Any] = []
    if filters.organisation is not None:
        conditions.append(DisclosureEntry.organisation == filters.organisation)
    if filters.purpose is not None:
        conditions.append(DisclosureEntry.purpose == filters.purpose)
    if filters.decision is not None:
        conditions.append(DisclosureEntry.decision == filters.decision)
    if filters.since is not None:
        conditions.append(DisclosureEntry.recorded_at >= filters.since)
    if filters.until is not None:
        conditions.append(DisclosureEntry.recorded_at < filters.until)
    if filters.subject_refs is not None:
        conditions.append(DisclosureEntry.subject_ref.in_(filters.subject_refs))
    return query.where(*conditions)


def _rows(result: Sequence[Any]) -> list[Listed]:
    return [Listed(entry=entry, leaf_index=leaf) for entry, leaf in result]


async def page(
    session: AsyncSession, filters: Filters, *, cursor: str | None = None, limit: int = 50
) -> Page:
    """One page of matching entries, newest first (see the module docstring)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if filters.subject_refs == ():
        return Page(items=[], next_cursor=None)
    query = _listing(filters)
    if cursor is not None:
        query = query.where(DisclosureEntry.id < decode_cursor(cursor))
    query = query.order_by(DisclosureEntry.id.desc()).limit(limit + 1)
    rows = _rows((await session.execute(query)).all())
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].entry.id))


async def stream(
    session: AsyncSession, filters: Filters, *, batch: int = 1000
) -> AsyncIterator[list[Listed]]:
    """Every matching entry, newest first, a batch at a time (bounded memory for exports)."""
    if filters.subject_refs == ():
        return
    before: int | None = None
    while True:
        query = _listing(filters)
        if before is not None:
            query = query.where(DisclosureEntry.id < before)
        rows = _rows(
            (await session.execute(query.order_by(DisclosureEntry.id.desc()).limit(batch))).all()
        )
        if rows:
            yield rows
        if len(rows) < batch:
            return
        before = rows[-1].entry.id


async def history(session: AsyncSession, subject_refs: tuple[str, ...]) -> list[Listed]:
    """Every entry about one person (by their log pseudonyms), oldest first."""
    if not subject_refs:
        return []
    query = _listing(Filters(subject_refs=subject_refs)).order_by(DisclosureEntry.id)
    return _rows((await session.execute(query)).all())


async def entry_at(session: AsyncSession, index: int) -> DisclosureEntry | None:
    """The entry sequenced at leaf `index`, if there is one."""
    return await session.scalar(
        select(DisclosureEntry)
        .join(AuditLeaf, AuditLeaf.entry_id == DisclosureEntry.id)
        .where(AuditLeaf.leaf_index == index)
    )
