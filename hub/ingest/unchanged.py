"""The keys a file found unchanged, so that a later row of the same file cannot change them.

A record's key names one record of its source (DOMAIN.md: a file states each record once). A
row whose key the same file wrote before, with other content, is a conflicting repeat and is
rejected: the stored record's batch says so (hub.ingest.records.classify). But a row that
matched the stored record wrote nothing, so the record still names an earlier batch; a repeat
of its key with other content, in a later chunk of the same file, would pass for a change and
be applied. Re-ingesting such a file would then change what the first load stored.

So the keys found unchanged are kept for the file, in a temporary table (on disk for SQLite,
dropped with the transaction on PostgreSQL), never in memory: a re-ingest of a large file
finds millions unchanged. A `KeyFilter` in front of the table spares the lookups for almost
every key; the table answers exactly for the few the filter lets through.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable, DropTable

from connectors.mapper import Staged
from hub.database import copy_rows, one_of
from hub.ingest.keyfilter import KeyFilter

TABLE = Table(
    "ingest_unchanged_keys",
    MetaData(),  # not the hub's: no migration creates it, each file does
    Column("key", String, primary_key=True),
    Column("row", Integer, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


class UnchangedKeys:
    """The keys one file found unchanged, each with the row where it first did."""

    def __init__(self, bits: int | None = None) -> None:
        self._filter = KeyFilter(bits)
        self._created = False

    async def remember(self, session: AsyncSession, rows: Sequence[Staged]) -> None:
        """Keep the keys of `rows`, which matched their stored records."""
        if not rows:
            return
        if not self._created:
            # If a failed file on this connection left the table (SQLite), it is emptied.
            await session.execute(CreateTable(TABLE, if_not_exists=True))
            await session.execute(delete(TABLE))
            self._created = True
        known = await self.first_rows(session, [row.key for row in rows])
        new = {row.key: row.row for row in rows if row.key not in known}
        self._filter.add_again(new)
        await copy_rows(session, TABLE, ("key", "row"), list(new.items()))

    async def first_rows(self, session: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
        """Of `keys`, those found unchanged earlier in the file, with the row where they were."""
        maybe = self._filter.maybe(keys)
        if not maybe:
            return {}
        result = await session.execute(
            select(TABLE.c.key, TABLE.c.row).where(one_of(session, TABLE.c.key, maybe))
        )
        return {key: row for key, row in result.all()}

    async def close(self, session: AsyncSession) -> None:
        """Drop the table, in the file's transaction (it goes with it on PostgreSQL anyway)."""
        if self._created:
            await session.execute(DropTable(TABLE, if_exists=True))
            self._created = False
