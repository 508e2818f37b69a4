"""Findings of duplicate benefits, their append-only resolution history, and scans.

A finding is one rule matched by one pair of enrolments (`enrolment_a` on the rule's side a,
`enrolment_b` on side b; for a same-kind rule, the lower id first). It is unique by (rule,
pair), so scans and ingestion never record the same conflict twice. A finding is information
for the two organisations, never an automatic stop of payment; its state changes only by
appending a resolution.

The enrolment and person columns carry no foreign keys, as the bulk tables' references do not
(hub.records.models REFERENCE_NOTE): findings are inserted only by a join over those very rows
(hub.duplicates.store), and enrolments and persons are never deleted. The per-row key checks
cost about 85 µs a finding on PostgreSQL, about a third of a full scan's time
(benchmarks/RESULTS.md, issue 6).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base, UTCDateTime
from hub.kit.ids import new_uuid


class DuplicateFinding(Base):
    __tablename__ = "duplicate_findings"
    __table_args__ = (
        UniqueConstraint("rule_id", "enrolment_a", "enrolment_b"),
        Index(None, "programme_a"),
        Index(None, "programme_b"),
        Index(None, "household_id"),
        Index(None, "found_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    rule_id: Mapped[str] = mapped_column(String(16))
    rule_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the rule's content when the finding was made (rules are versioned by hash)."""
    enrolment_a: Mapped[uuid.UUID]
    enrolment_b: Mapped[uuid.UUID]
    programme_a: Mapped[str] = mapped_column(String(64))
    programme_b: Mapped[str] = mapped_column(String(64))
    source_a: Mapped[str] = mapped_column(String(32))
    source_b: Mapped[str] = mapped_column(String(32))
    person_a: Mapped[uuid.UUID]
    person_b: Mapped[uuid.UUID]
    household_id: Mapped[str | None] = mapped_column(String(64))
    """The shared household, for a household-scope rule."""
    overlap_start: Mapped[dt.date]
    overlap_end: Mapped[dt.date | None]
    """The days both enrolments cover (open-ended: None). For a `within_days` rule whose
    periods do not overlap, the gap between them: from the earlier end to the later start."""
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open, confirmed, dismissed or resolved: the latest resolution (history in
    duplicate_resolutions)."""
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    found_by: Mapped[str] = mapped_column(String(80))
    """`scan:<id>` or `ingest:<batch id>`."""


class DuplicateResolution(Base):
    """One step in a finding's history; rows are only ever inserted."""

    __tablename__ = "duplicate_resolutions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("duplicate_findings.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    organisation: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DuplicateScan(Base):
    __tablename__ = "duplicate_scans"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    rule_set_hash: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")
    matched: Mapped[int] = mapped_column(Integer, default=0)
    """Pairs the rules matched in this scan."""
    new_findings: Mapped[int] = mapped_column(Integer, default=0)
