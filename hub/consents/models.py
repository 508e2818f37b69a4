"""The consent table. Rows are never changed except to record a withdrawal once (PIPA §37);
a correction withdraws a consent and records a new one."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base, UTCDateTime


class ConsentRow(Base):
    __tablename__ = "consents"
    __table_args__ = (Index(None, "person_id", "valid_from"),)

    id: Mapped[str] = mapped_column(String(68), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    controller: Mapped[str] = mapped_column(String(32), index=True)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    purposes: Mapped[list[str]] = mapped_column(JSON)
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    collection_method: Mapped[str] = mapped_column(String(20))
    form_sha256: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(128))
    """The client that recorded it."""
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawal_reason: Mapped[str | None] = mapped_column(String(200))
