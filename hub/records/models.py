"""Persons, enrolments and attribute facts, as standardised from the sources.

REFERENCE_NOTE: the bulk tables (enrolments, attribute facts, status events) keep foreign keys
to persons, but not to organisations, programmes or ingest batches. Those are
reference rows nothing ever deletes, and a per-row foreign-key trigger locks the same few of
them for every row loaded (measured: about a third of the load's database time,
benchmarks/RESULTS.md). Ingestion checks them once per file instead
(hub.ingest.pipeline.Ingestion._check_programmes).

On PostgreSQL the two largest, enrolments and attribute facts, check their persons per
statement instead of per row (PERSONS_CHECKED_PER_STATEMENT, migration 0013): the per-row key
locked each person once per row it was named in, about a fifth of a load's database time. The
models still declare those keys, which SQLite keeps.

A person's RRN is stored only AES-256-GCM encrypted (`rrn_sealed`, key id `rrn_kid`) and is
found through a keyed HMAC blind index (`rrn_index`, key id `rrn_index_kid`): 개인정보 보호법
§24-2 requires resident registration numbers to be encrypted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base
from hub.kit.clock import utcnow
from hub.kit.ids import new_uuid

PERSONS_CHECKED_PER_STATEMENT = frozenset(
    {"fk_enrolments_person_id_persons", "fk_attribute_facts_person_id_persons"}
)
"""Foreign keys that PostgreSQL enforces by statement triggers, not as constraints (0013)."""


class Person(Base):
    __tablename__ = "persons"
    __table_args__ = (
        UniqueConstraint("rrn_index_kid", "rrn_index"),
        CheckConstraint("civil_status IN ('alive', 'deceased', 'deregistered')", name="civil"),
        CheckConstraint("sex IN ('male', 'female')", name="sex"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    rrn_kid: Mapped[str] = mapped_column(String(64))
    rrn_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    rrn_index_kid: Mapped[str] = mapped_column(String(64))
    rrn_index: Mapped[bytes] = mapped_column(LargeBinary(32))
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date]
    sex: Mapped[str] = mapped_column(String(6))
    region_code: Mapped[str | None] = mapped_column(String(10), default=None)
    household_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    civil_status: Mapped[str] = mapped_column(String(16), default="alive")
    civil_status_date: Mapped[dt.date | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Enrolment(Base):
    """A person's place in a programme, as the source organisation reported it.

    Idempotent by (source organisation, source record id): a re-sent record updates, never
    duplicates. Money is integer won.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("source_org", "source_record_id"),
        CheckConstraint("status IN ('active', 'suspended', 'ended')", name="status"),
        CheckConstraint("amount_won IS NULL OR amount_won >= 0", name="amount"),
        CheckConstraint("period_end IS NULL OR period_end >= period_start", name="period"),
        # The duplicate rules' join (hub.duplicates.sql) reads one programme's enrolments and
        # pairs them by person: this index answers it from the index alone, with no table
        # reads (the rules' SELECTs over 1,000,000 enrolments 2-5x faster; benchmarks/RESULTS.md,
        # issue 6). It replaced (programme_code, period_start), which no query used.
        Index(
            "ix_enrolments_programme_person",
            "programme_code",
            "person_id",
            "period_start",
            "period_end",
            "status",
            "source_org",
            "id",
        ),
        # A person's enrolments, and of those one programme's: the household rules pair each
        # new enrolment with the household's enrolments of the rule's other programme. Keyed
        # by person alone, the index led to every enrolment of each household member, read
        # from the table and mostly filtered out (benchmarks/RESULTS.md, issue 3).
        Index("ix_enrolments_person_programme", "person_id", "programme_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    programme_code: Mapped[str] = mapped_column(String(64))
    """A catalogue programme code (checked per file, see REFERENCE_NOTE)."""
    source_org: Mapped[str] = mapped_column(String(32))
    source_record_id: Mapped[str] = mapped_column(String(128))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    amount_won: Mapped[int | None] = mapped_column(BigInteger, default=None)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the record's canonical content: a re-sent identical record changes nothing."""
    batch_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    """The batch that last wrote the record (a repeat in the same batch is a conflict)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AttributeFact(Base):
    """One fact a source reported about a person (e.g. disability grade) over a validity period,
    keyed by source organisation, record id and attribute.

    Facts an enrolment confers (basic-livelihood recipient from 생계급여) are not stored: they
    are derived from the enrolment when read (hub.records.facts).
    """

    __tablename__ = "attribute_facts"
    __table_args__ = (
        UniqueConstraint("source_org", "source_record_id", "attribute"),
        Index(None, "person_id", "attribute"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    attribute: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None] = mapped_column(default=None)
    value_key: Mapped[str] = mapped_column(String(64))
    """The value as text, so a multi-valued attribute can hold one fact per value."""
    source_org: Mapped[str] = mapped_column(String(32))
    source_record_id: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StatusEvent(Base):
    """A civil-status change reported by the resident registry (MOIS): death, 말소, move.

    Idempotent by (source organisation, source event id). Later issues fan these out as alerts.
    """

    __tablename__ = "status_events"
    __table_args__ = (
        UniqueConstraint("source_org", "source_event_id"),
        Index(None, "person_id", "effective_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    type: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    effective_date: Mapped[dt.date]
    source_org: Mapped[str] = mapped_column(String(32))
    source_event_id: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
