"""The `programmes` table, synchronised from the validated catalogue at start-up and by
`hub catalogue load`; the YAML stays the source of truth, the table serves queries and keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base
from hub.kit.clock import utcnow


class Programme(Base):
    __tablename__ = "programmes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    ministry_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code"))
    operator_code: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.code"), default=None
    )
    name_ko: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    catalogue_hash: Mapped[str] = mapped_column(String(64))
    in_catalogue: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
