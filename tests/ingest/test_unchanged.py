"""The keys a file found unchanged (hub.ingest.unchanged), on both databases: answered exactly
whatever the filter in front lets through, a key kept once however often it is met, and the
table gone with the file."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from connectors.mapper import Staged
from hub.database import Database
from hub.ingest.unchanged import TABLE, UnchangedKeys


def _row(number: int, key: str) -> Staged:
    return Staged(number, "line", "", "", dt.date(2000, 1, 1), "F", "11350", None, key, "", {})


@pytest.mark.parametrize("bits", [None, 8])  # 8 bits: every key is a "maybe"
async def test_keys_are_answered_exactly_with_the_row_that_first_met_them(
    db: Database, bits: int | None
) -> None:
    keys = UnchangedKeys(bits)
    async with db.transaction() as session:
        assert await keys.first_rows(session, ["K-1"]) == {}  # nothing met, no table yet
        await keys.remember(session, [_row(2, "K-1"), _row(3, "K-2")])
        await keys.remember(session, [_row(9, "K-1"), _row(10, "K-3")])  # K-1 met again
        met = await keys.first_rows(session, ["K-1", "K-2", "K-3", "K-4", "K-10"])
        assert met == {"K-1": 2, "K-2": 3, "K-3": 10}
        stored = await session.scalar(text(f"SELECT count(*) FROM {TABLE.name}"))  # noqa: S608
        assert stored == 3
        await keys.close(session)


async def test_the_table_goes_with_the_file(db: Database) -> None:
    def exists(sync: Session) -> bool:
        return inspect(sync.connection()).has_table(TABLE.name)

    keys = UnchangedKeys()
    async with db.transaction() as session:
        await keys.remember(session, [_row(2, "K-1")])
        assert await session.run_sync(exists)
        await keys.close(session)
        assert not await session.run_sync(exists)
        await keys.close(session)  # closing twice is harmless
