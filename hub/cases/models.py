"""Case records of 통합사례관리 (issue 8).

A case refers to the person by internal id only; no RRN or name is stored here. The stage
history, needs assessments, plan versions, notes, shares and referrals are rows that are only
ever inserted (DOMAIN.md: the record of what was done stays as it was done; a plan change is a
new version, since it needs the person's consent again). The `cases` row carries the current
state derived from them (stage, class, type, closure, the next deadline) so lists and the
`overdue` filter read one indexed table. A referral's status is the one column that changes
after insert, once, from requested to completed or declined.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base
from hub.kit.ids import new_uuid
from schemas.case import ReferralStatus, Stage

STAGES = ", ".join(repr(s.value) for s in Stage)
DREAM_START = "MOHW-DREAM-START"
_ACTIVE_DREAM_START = f"programme = '{DREAM_START}' AND status <> '{ReferralStatus.DECLINED.value}'"


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"stage IN ({STAGES})", name="stage"),
        Index(None, "lead", "opened_at"),
        Index(None, "person_id"),
        Index(None, "next_due_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    number: Mapped[str] = mapped_column(String(48), unique=True)
    lead: Mapped[str] = mapped_column(ForeignKey("organisations.code"))
    """The organisation that opened the case and allocated its number (주관 기관)."""
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    stage: Mapped[str] = mapped_column(String(32))
    household_class: Mapped[str | None] = mapped_column(String(32))
    class_reason: Mapped[str | None] = mapped_column(String(500))
    case_type: Mapped[str | None] = mapped_column(String(16))
    closure_code: Mapped[str | None] = mapped_column(String(16))
    plan_version: Mapped[int] = mapped_column(Integer, default=0)
    next_due_on: Mapped[dt.date | None]
    """The earliest deadline not yet met (hub.cases.stages.next_due); overdue once passed."""
    attention: Mapped[str | None] = mapped_column(String(16), default=None)
    """reassessment or transfer, raised by a registry event (hub.cases.consequences) and
    cleared when the lead reassesses or closes the case."""
    attention_since: Mapped[dt.date | None] = mapped_column(default=None)
    attention_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    transfer_region: Mapped[str | None] = mapped_column(String(10), default=None)
    opened_at: Mapped[dt.datetime]
    opened_by: Mapped[str] = mapped_column(String(128))
    """The client that opened it."""
    updated_at: Mapped[dt.datetime]


class CaseCounter(Base):
    """The last case number an organisation allocated in a year (one row per both)."""

    __tablename__ = "case_counters"

    organisation: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class _Recorded:
    """Who recorded a row, and when."""

    organisation: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime]


class CaseStep(_Recorded, Base):
    """One stage entered, on the date it was entered."""

    __tablename__ = "case_steps"
    __table_args__ = (
        CheckConstraint(f"stage IN ({STAGES})", name="stage"),
        Index(None, "case_id", "seq", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    """1 for discovery, then one more per move: (case_id, seq) is unique, so two concurrent
    moves of one case cannot both be recorded."""
    stage: Mapped[str] = mapped_column(String(32))
    entered_on: Mapped[dt.date]
    closure_code: Mapped[str | None] = mapped_column(String(16))


class CaseAssessment(_Recorded, Base):
    """One needs and crisis assessment (욕구·위기도 조사); the latest is the case's."""

    __tablename__ = "case_assessments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    crisis_level: Mapped[str] = mapped_column(String(16))
    assessed_on: Mapped[dt.date]


class CasePlanItem(_Recorded, Base):
    """One item of one version of the service plan; the highest version is the plan."""

    __tablename__ = "case_plan_items"
    __table_args__ = (Index(None, "case_id", "version", "position", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    goal: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    frequency: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_on: Mapped[dt.date | None]


class CaseNote(_Recorded, Base):
    """A monitoring note; `category` is case.record or a sensitive category (PIPA §23)."""

    __tablename__ = "case_notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    """The note's place among those recorded by one request (they share `recorded_at`)."""
    category: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)


class CaseShare(_Recorded, Base):
    """The case shared with a co-manager for these categories; the latest row per organisation
    is in force (a share is widened or narrowed by recording another)."""

    __tablename__ = "case_shares"
    __table_args__ = (Index(None, "case_id", "recipient"), Index(None, "recipient"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    recipient: Mapped[str] = mapped_column(ForeignKey("organisations.code"))
    data_categories: Mapped[list[str]] = mapped_column(JSON)


class CaseReferral(_Recorded, Base):
    """A referral (서비스 연계·의뢰) of the person to an organisation for a service.

    드림스타트 registers a child once only: the partial unique index holds at most one referral
    to it per person that was not declined, so two concurrent referrals cannot both pass."""

    __tablename__ = "case_referrals"
    __table_args__ = (
        Index(None, "case_id"),
        Index(
            "uq_case_referrals_dream_start_once",
            "person_id",
            unique=True,
            postgresql_where=text(_ACTIVE_DREAM_START),
            sqlite_where=text(_ACTIVE_DREAM_START),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    recipient: Mapped[str] = mapped_column(ForeignKey("organisations.code"))
    service: Mapped[str] = mapped_column(String(200))
    programme: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.REQUESTED.value)
    answered_at: Mapped[dt.datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(128))
    """The receiving organisation's client that answered."""
    reason: Mapped[str | None] = mapped_column(String(500))
