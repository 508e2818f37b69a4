"""The `organisations` table: who may hold clients, own sources and receive disclosures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base
from hub.kit.clock import utcnow
from schemas.organisation import OrganisationKind

KINDS = tuple(kind.value for kind in OrganisationKind)


class Organisation(Base):
    """A body that calls the hub. `code` is its stable id (e.g. MOHW, KFS, WC-ARA)."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="kind"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name_ko: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code"), default=None)
    region_code: Mapped[str | None] = mapped_column(String(10), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
