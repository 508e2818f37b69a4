"""Keeping the planner's statistics in step with a load that grows its tables.

A file is applied in one transaction, and the tables grow inside it while the planner's
statistics still describe them as they were. Planned against an empty table, the per-chunk key
lookups become an index range on the first column plus a filter, which makes a large load
quadratic (benchmarks/RESULTS.md, issue 3). ANALYZE counts the rows the transaction itself
inserted, so re-analysing fixes the plans; but each ANALYZE samples the whole table, so it is
run only on a table the file writes, and only once the rows written since the statistics were
taken are as many as the statistics describe (the table has at least doubled). A load into
empty tables analyses after 2,000, 4,000, 8,000… rows; a file into tables that already hold
millions of rows analyses nothing.

SQLite needs the same: without statistics (sqlite_stat1) its planner chose nested loops for
the duplicate rules that took 20 s for a 3,500-row file. There ANALYZE runs with an
`analysis_limit`, which samples each index instead of reading it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import dialect_of

ANALYSED_COLUMNS = {
    "persons": ("id", "rrn_index_kid", "rrn_index", "household_id"),
    "enrolments": (
        "id",
        "person_id",
        "programme_code",
        "source_org",
        "source_record_id",
        "period_start",
        "period_end",
        "status",
    ),
    "attribute_facts": ("id", "person_id", "attribute", "source_org", "source_record_id"),
}
"""The columns a load's own statements filter and join on (the key lookups, the persons'
households, the duplicate rules): the only ones its ANALYZEs on PostgreSQL describe. The
others (names, sealed RRNs, fingerprints, values, times) cost most of an ANALYZE and no plan
of the load reads their statistics; autovacuum's ANALYZE keeps all columns described."""
FIRST_AT = 2000
"""Rows written into a table the statistics call empty before its first ANALYZE."""
SQLITE_SAMPLE = 1000
"""Rows SQLite's ANALYZE reads per index (its `analysis_limit`)."""


@dataclass
class Growth:
    """Rows a file has written per table, against the rows each table's statistics describe."""

    described: dict[str, float]
    dialect: str = "postgresql"
    written: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def of(cls, session: AsyncSession, tables: tuple[str, ...]) -> Growth:
        """What the statistics describe now (PostgreSQL's `reltuples` is -1 for a table never
        analysed; SQLite has no sqlite_stat1 at all until the first ANALYZE)."""
        dialect = dialect_of(session)
        described = dict.fromkeys(tables, 0.0)
        if dialect == "postgresql":
            rows = await session.execute(
                text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:names)"),
                {"names": list(tables)},
            )
            described.update({name: max(float(count), 0.0) for name, count in rows.all()})
        else:
            exists = await session.scalar(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            )
            if exists:
                rows = await session.execute(text("SELECT tbl, stat FROM sqlite_stat1"))
                for table, stat in rows.all():
                    if table in described and stat:
                        count = float(str(stat).split()[0])
                        described[table] = max(described[table], count)
        return cls(described, dialect)

    def wrote(self, table: str, rows: int) -> None:
        self.written[table] = self.written.get(table, 0) + rows

    def stale(self, growth: float) -> list[str]:
        """The tables that have grown by at least `growth` (1.0: doubled) since their
        statistics were taken, by at least FIRST_AT rows."""
        return sorted(
            table
            for table, described in self.described.items()
            if self.written.get(table, 0) >= max(FIRST_AT, growth * described)
        )

    async def refresh(self, session: AsyncSession, growth: float = 1.0) -> list[str]:
        """ANALYZE the tables that grew by `growth`; returns their names.

        Between chunks, doubling is the threshold: the key lookups only need the table's rough
        size. Before the duplicate rules (hub.duplicates.ingested) a tenth is: their joins are
        planned on the programme codes' frequencies, and a file's new codes are missing from
        statistics that predate it (a 16,000-row file ran its rules 0.04 s against 3.1 s)."""
        tables = self.stale(growth)
        if tables:
            # Names come from this module's callers (table names of the hub's own models).
            if self.dialect == "postgresql":
                described = ", ".join(
                    f"{table} ({', '.join(ANALYSED_COLUMNS[table])})"
                    if table in ANALYSED_COLUMNS
                    else table
                    for table in tables
                )
                await session.execute(text(f"ANALYZE {described}"))
            else:
                await session.execute(text(f"PRAGMA analysis_limit = {SQLITE_SAMPLE}"))
                for table in tables:
                    await session.execute(text(f"ANALYZE {table}"))
            for table in tables:
                self.described[table] += self.written.pop(table)
        return tables
