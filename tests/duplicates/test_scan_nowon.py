"""The Nowon case: two community welfare centres giving the same household the same kind of
private support within the rule's window (DUP-29..31: 30 days), through the facility
connector (SSIS exports, one per centre). Found: two centres within 30 days, household members
included, exactly 30 days apart. Not found: 31+ days apart, the same centre twice, different
kinds of support."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from sqlalchemy import select

from hub.database import Database
from hub.duplicates.models import DuplicateScan
from hub.duplicates.scan import scan
from tests.duplicates.sources import Row, Sources, findings_among, ssis_xlsx
from tests.factories import new_rrn

D = dt.date


async def test_two_centres_same_support_same_household_within_the_window(
    database_url: str, keys_file: Path
) -> None:
    tag = secrets.token_hex(4).upper()
    nowon: list[Row] = []
    nowon_2: list[Row] = []

    def support(centre: list[Row], case: str, person: str, programme: str, day: D) -> str:
        record = f"{tag}-{case}-{len(nowon) + len(nowon_2)}"
        centre.append(Row(record, person, programme, day, day, "ended", f"H{tag}{case}"))
        return record

    people = {case: new_rrn(D(1950, 1, 1)) for case in ("1", "2", "3", "4", "5", "6", "7")}
    spouse = new_rrn(D(1952, 2, 2))
    food, cash = "PRIV-FOOD", "PRIV-CASH"
    # found: two centres, 24 days apart
    a1 = support(nowon, "1", people["1"], food, D(2024, 3, 1))
    b1 = support(nowon_2, "1", people["1"], food, D(2024, 3, 25))
    # not found: 45 days apart
    support(nowon, "2", people["2"], food, D(2024, 3, 1))
    support(nowon_2, "2", people["2"], food, D(2024, 4, 15))
    # not found: the same centre twice
    support(nowon, "3", people["3"], food, D(2024, 3, 1))
    support(nowon, "3", people["3"], food, D(2024, 3, 10))
    # not found: food from one, cash from the other
    support(nowon, "4", people["4"], food, D(2024, 3, 1))
    support(nowon_2, "4", people["4"], cash, D(2024, 3, 5))
    # found: two members of one household, one centre each (the rule's scope is the household)
    a5 = support(nowon, "5", people["5"], food, D(2024, 3, 1))
    b5 = support(nowon_2, "5", spouse, food, D(2024, 3, 11))
    # found: exactly 30 days apart; the centre's next act, 31 days after the other's, is not
    a6 = support(nowon, "6", people["6"], food, D(2024, 3, 1))
    b6 = support(nowon_2, "6", people["6"], food, D(2024, 3, 31))
    support(nowon_2, "6", people["6"], food, D(2024, 4, 1))
    # found: cash from both on the same day (DUP-30)
    a7 = support(nowon, "7", people["7"], cash, D(2024, 3, 1))
    b7 = support(nowon_2, "7", people["7"], cash, D(2024, 3, 1))

    db = Database(database_url)
    sources = Sources(db, keys_file)
    try:
        await sources.ready()
        await sources.send("ssis", "WC-NOWON", ssis_xlsx(nowon))
        report = await sources.send("ssis", "WC-NOWON-2", ssis_xlsx(nowon_2))
        records = {r.record_id for r in nowon + nowon_2}
        expected = {
            ("DUP-29", frozenset({a1, b1}), D(2024, 3, 1), D(2024, 3, 25)),
            ("DUP-29", frozenset({a5, b5}), D(2024, 3, 1), D(2024, 3, 11)),
            ("DUP-29", frozenset({a6, b6}), D(2024, 3, 1), D(2024, 3, 31)),
            ("DUP-30", frozenset({a7, b7}), D(2024, 3, 1), D(2024, 3, 1)),
        }

        def shape(found: list[tuple]) -> set[tuple]:
            return {(rule, frozenset({a, b}), start, end) for rule, a, b, start, end, _ in found}

        # Found when the second centre's export arrived, before any scan.
        found = await findings_among(db, records)
        assert shape(found) == expected
        assert {by for *_, by in found} == {f"ingest:{report.batch.id}"}

        # A scan matches them too and adds nothing for these households.
        async with db.transaction() as session:
            outcome = await scan(session, sources.catalogue, requested_by="test")
        assert await findings_among(db, records) == found
        by_rule = {o.rule_id: o for o in outcome.rules}
        assert by_rule["DUP-29"].matched >= 3
        assert by_rule["DUP-30"].matched >= 1
        async with db.transaction() as session:
            assert await session.get(DuplicateScan, outcome.scan.id) is not None
            assert (await session.scalars(select(DuplicateScan.status))).all()
    finally:
        await db.dispose()
