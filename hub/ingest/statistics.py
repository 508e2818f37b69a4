"""Keeping PostgreSQL's planner statistics in step with a load that grows its tables.

A file is applied in one transaction, and the tables grow inside it while the planner's
statistics still describe them as they were. Planned against an empty table, the per-chunk key
lookups become an index range on the first column plus a filter, which makes a large load
quadratic (benchmarks/RESULTS.md, issue 3). ANALYZE counts the rows the transaction itself
inserted, so re-analysing fixes the plans; but each ANALYZE samples the whole table, so it is
run only on a table the file writes, and only once the rows written since the statistics were
taken are as many as the statistics describe (the table has at least doubled). A load into
empty tables analyses after 2,000, 4,000, 8,000… rows; a file into tables that already hold
millions of rows analyses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

FIRST_AT = 2000
"""Rows written into a table the statistics call empty before its first ANALYZE."""


@dataclass
class Growth:
    """Rows a file has written per table, against the rows each table's statistics describe."""

    described: dict[str, float]
    written: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def of(cls, session: AsyncSession, tables: tuple[str, ...]) -> Growth:
        """What the statistics describe now (`reltuples` is -1 for a never-analysed table)."""
        rows = await session.execute(
            text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:names)"),
            {"names": list(tables)},
        )
        described = dict.fromkeys(tables, 0.0)
        described.update({name: max(float(count), 0.0) for name, count in rows.all()})
        return cls(described)

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
            await session.execute(text(f"ANALYZE {', '.join(tables)}"))
            for table in tables:
                self.described[table] += self.written.pop(table)
        return tables
