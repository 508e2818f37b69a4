"""Ingestion batches and their rejected rows: the report a source gets back, kept for later.

A batch stores no file name and no row content (either may carry personal data): only the
file's SHA-256 and size, the counts, and per rejected row its number, field and reason.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base
from hub.kit.clock import utcnow
from hub.kit.ids import new_uuid

BATCH_STATUSES = ("running", "completed", "failed")


class IngestBatch(Base):
    __tablename__ = "ingest_batches"
    __table_args__ = (CheckConstraint(f"status IN {BATCH_STATUSES!r}", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    source: Mapped[str] = mapped_column(String(48), index=True)
    organisation: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="running")
    file_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    file_bytes: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    """Why a structurally broken file was refused whole (no content quoted)."""
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class IngestRejection(Base):
    __tablename__ = "ingest_rejections"

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ingest_batches.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    location: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
