"""Findings follow the enrolments they are about: a change that ends the conflict resolves the
finding (by the hub, with its reason in the history), a later change that brings it back
reopens it, and every finding is announced as `duplicate.found` in the transaction that stored
it (hub.duplicates.revisit, hub.duplicates.announce)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from sqlalchemy import select

from hub.alerts.kinds import DUPLICATE_FOUND
from hub.database import Database
from hub.duplicates import announce
from hub.duplicates.models import DuplicateFinding, DuplicateResolution
from hub.events.models import Event
from hub.records.models import Enrolment
from tests.duplicates.sources import Row, Sources, kfs_xlsx, mohw_csv
from tests.factories import new_rrn

D = dt.date
WORK, FOREST = "MOHW-SELF-SUPPORT-WORK", "KFS-FOREST-TENDING"


async def _finding(db: Database, record_id: str) -> tuple[DuplicateFinding, list[tuple]]:
    """The finding whose side a carries `record_id`, and its history (status, organisation,
    reason), oldest first."""
    async with db.transaction() as session:
        enrolment = await session.scalar(
            select(Enrolment.id).where(Enrolment.source_record_id == record_id)
        )
        finding = await session.scalar(
            select(DuplicateFinding).where(DuplicateFinding.enrolment_a == enrolment)
        )
        assert finding is not None
        history = (
            await session.execute(
                select(
                    DuplicateResolution.status,
                    DuplicateResolution.organisation,
                    DuplicateResolution.reason,
                )
                .where(DuplicateResolution.finding_id == finding.id)
                .order_by(DuplicateResolution.recorded_at, DuplicateResolution.id)
            )
        ).all()
        session.expunge(finding)
        return finding, [tuple(row) for row in history]


async def _events(db: Database, finding: DuplicateFinding) -> list[Event]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(Event)
            .where(Event.type == DUPLICATE_FOUND, Event.source_event_id.like(f"{finding.id}:%"))
            .order_by(Event.recorded_at, Event.source_event_id)
        )
        return list(rows)


async def test_a_change_resolves_then_reopens_and_each_finding_is_announced(
    database_url: str, keys_file: Path
) -> None:
    assert announce.DUPLICATE_FOUND == DUPLICATE_FOUND  # the alerts side knows the type
    tag = secrets.token_hex(4).upper()
    worker = new_rrn(D(1980, 5, 5))
    db = Database(database_url)
    sources = Sources(db, keys_file)
    try:
        await sources.ready()
        work = Row(f"W{tag}", worker, WORK, D(2024, 1, 1), D(2024, 6, 30))
        await sources.send("mohw", "MOHW", mohw_csv([work]))
        forest = kfs_xlsx([Row(f"F{tag}", worker, FOREST, D(2024, 3, 1), D(2024, 4, 30))])
        found = await sources.send("kfs", "KFS", forest)
        finding, history = await _finding(db, f"W{tag}")
        assert (finding.status, finding.found_by, history) == (
            "open",
            f"ingest:{found.batch.id}",
            [],
        )
        # One person, so one event for the alerts sweep (the test app's worker may already
        # have fanned it out); codes only.
        (first,) = await _events(db, finding)
        assert first.person_id == finding.person_a
        assert first.source_org == announce.SOURCE
        assert first.details == {
            "finding_id": str(finding.id),
            "rule_id": "DUP-02",
            "programme": WORK,
            "conflicting_programme": FOREST,
        }

        # 자활근로 is corrected to end before the forest job began: no longer a conflict.
        ended = Row(f"W{tag}", worker, WORK, D(2024, 1, 1), D(2024, 2, 29))
        await sources.send("mohw", "MOHW", mohw_csv([ended]))
        finding, history = await _finding(db, f"W{tag}")
        assert finding.status == "resolved"
        assert [(status, who) for status, who, _ in history] == [("resolved", "HUB")]
        assert "no longer conflict under DUP-02" in history[0][2]
        assert "MOHW" in history[0][2]
        assert len(await _events(db, finding)) == 1  # a resolution is not announced

        # Re-sending the same file changes nothing more.
        await sources.send("mohw", "MOHW", mohw_csv([ended]))
        assert (await _finding(db, f"W{tag}"))[1] == history

        # Corrected back: the conflict holds again, so the hub reopens and announces it.
        await sources.send("mohw", "MOHW", mohw_csv([work]))
        finding, history = await _finding(db, f"W{tag}")
        assert finding.status == "open"
        assert [(status, who) for status, who, _ in history] == [
            ("resolved", "HUB"),
            ("open", "HUB"),
        ]
        assert "conflict again under DUP-02" in history[1][2]
        events = await _events(db, finding)
        assert len(events) == 2
        assert ":reopened:" in events[1].source_event_id
        assert events[1].details == first.details
    finally:
        await db.dispose()


async def test_a_decision_of_an_organisation_is_left_alone(
    database_url: str, keys_file: Path
) -> None:
    """A finding the organisations dismissed stays dismissed whatever the enrolments do."""
    tag = secrets.token_hex(4).upper()
    worker = new_rrn(D(1981, 6, 6))
    db = Database(database_url)
    sources = Sources(db, keys_file)
    try:
        await sources.ready()
        work = Row(f"W{tag}", worker, WORK, D(2024, 1, 1), D(2024, 6, 30))
        await sources.send("mohw", "MOHW", mohw_csv([work]))
        forest = kfs_xlsx([Row(f"F{tag}", worker, FOREST, D(2024, 3, 1), D(2024, 4, 30))])
        await sources.send("kfs", "KFS", forest)
        finding, _ = await _finding(db, f"W{tag}")
        async with db.transaction() as session:  # as POST …/resolution stores a dismissal
            found = await session.get(DuplicateFinding, finding.id)
            assert found is not None
            found.status = "dismissed"
            session.add(
                DuplicateResolution(
                    finding_id=finding.id,
                    status="dismissed",
                    reason="paid for different months",
                    organisation="KFS",
                    client_id="kfs-test",
                    recorded_at=dt.datetime.now(dt.UTC),
                )
            )
        ended = Row(f"W{tag}", worker, WORK, D(2024, 1, 1), D(2024, 2, 29))
        await sources.send("mohw", "MOHW", mohw_csv([ended]))
        await sources.send("mohw", "MOHW", mohw_csv([work]))
        finding, history = await _finding(db, f"W{tag}")
        assert finding.status == "dismissed"
        assert [(status, who) for status, who, _ in history] == [("dismissed", "KFS")]
    finally:
        await db.dispose()
