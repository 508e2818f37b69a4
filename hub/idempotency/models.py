"""Stored first answers to creating requests, by client and `Idempotency-Key`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base, UTCDateTime


class IdempotentResponse(Base):
    __tablename__ = "idempotent_responses"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(128))
    """The route template, so one key cannot replay another endpoint's answer."""
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
