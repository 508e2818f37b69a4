"""Storing what a rule's SELECT matched as findings: INSERT … SELECT … ON CONFLICT DO NOTHING.

Findings are unique by (rule, enrolment a, enrolment b), so a conflict found again by a later
scan, by another file's ingestion, or by two of them at once is stored once, with the
provenance (`found_by`) and time of its first finding. Nothing leaves the database: the pairs
go from the join straight into the table, with ids minted in SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    MetaData,
    Select,
    String,
    Table,
    Uuid,
    delete,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from hub.database import dialect_of, insert_for
from hub.duplicates.models import DuplicateFinding
from hub.duplicates.sql import HOUSEHOLD_COLUMNS, HOUSEHOLDS, MATCH_COLUMNS, household_enrolments
from hub.kit.base import UTCDateTime

KEY = ("rule_id", "enrolment_a", "enrolment_b")

# A random version-4 UUID as SQLite stores one (CHAR(32), hex): SQLite has no uuid function.
_SQLITE_UUID4 = (
    "lower(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2)"
    " || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)"
    " || hex(randomblob(6)))"
)

_scratch = MetaData()
MATCHES = Table(
    "duplicate_matches",
    _scratch,
    Column("rule_id", String(16)),
    Column("rule_hash", String(64)),
    Column("enrolment_a", Uuid()),
    Column("enrolment_b", Uuid()),
    Column("programme_a", String(64)),
    Column("programme_b", String(64)),
    Column("source_a", String(32)),
    Column("source_b", String(32)),
    Column("person_a", Uuid()),
    Column("person_b", Uuid()),
    Column("household_id", String(64)),
    Column("overlap_start", Date()),
    Column("overlap_end", Date()),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""A scan's matches of one rule, so the scan can count them (matched) apart from the
findings they add (new): a per-connection temporary table, emptied before each rule."""


def _new_id(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.gen_random_uuid(type_=Uuid())
    return literal_column(_SQLITE_UUID4, Uuid())


async def _insert_findings(
    session: AsyncSession,
    source: Select[Any] | Table,
    *,
    found_by: str,
    now: dt.datetime,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Insert the rows of ``source`` (a match SELECT or MATCHES) as open findings; the count of
    new ones."""
    rows = source.subquery("m") if isinstance(source, Select) else source.alias("m")
    columns = [rows.c[name] for name in MATCH_COLUMNS]
    statement = (
        insert_for(session, DuplicateFinding.__table__)
        .from_select(
            ["id", *MATCH_COLUMNS, "status", "found_at", "found_by"],
            select(
                _new_id(dialect_of(session)),
                *columns,
                literal("open", String),
                literal(now, UTCDateTime()),
                literal(found_by, String),
            ).where(true()),  # SQLite needs a WHERE before ON CONFLICT (parsing ambiguity)
        )
        .on_conflict_do_nothing(index_elements=list(KEY))
    )
    result = await session.execute(statement, dict(params or {}))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def record(
    session: AsyncSession,
    matches: Select[Any],
    *,
    found_by: str,
    now: dt.datetime,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Store the pairs ``matches`` selects (with its bound ``params``) as findings; how many
    were new."""
    return await _insert_findings(session, matches, found_by=found_by, now=now, params=params)


async def record_counted(
    session: AsyncSession, matches: Select[Any], *, found_by: str, now: dt.datetime
) -> tuple[int, int]:
    """Like ``record``, and also count every pair matched: (matched, new findings).

    The pairs go through MATCHES once, so the join runs once however both counts are needed.
    """
    await session.execute(CreateTable(MATCHES, if_not_exists=True))
    await session.execute(delete(MATCHES))
    result = await session.execute(MATCHES.insert().from_select(list(MATCH_COLUMNS), matches))
    matched = int(result.rowcount)  # type: ignore[attr-defined]
    if matched == 0:
        return 0, 0
    return matched, await _insert_findings(session, MATCHES, found_by=found_by, now=now)


async def materialise_households(session: AsyncSession, programmes: frozenset[str]) -> int:
    """Fill HOUSEHOLDS (hub.duplicates.sql) with the enrolments of ``programmes`` and their
    households, indexed and analysed for the household rules' joins; how many rows."""
    await session.execute(DropTable(HOUSEHOLDS, if_exists=True))
    await session.execute(CreateTable(HOUSEHOLDS))
    rows = household_enrolments(programmes)
    result = await session.execute(HOUSEHOLDS.insert().from_select(list(HOUSEHOLD_COLUMNS), rows))
    for index in HOUSEHOLDS.indexes:
        await session.execute(CreateIndex(index))
    await session.execute(text(f"ANALYZE {HOUSEHOLDS.name}"))
    return int(result.rowcount)  # type: ignore[attr-defined]
