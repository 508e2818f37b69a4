"""Events about a person that other organisations may need to learn (consent withdrawn, …).

Written in the same transaction as the change they report, so an event exists exactly when its
change committed (a transactional outbox). Alerts delivery (issue 7) fans them out.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base, UTCDateTime
from hub.kit.clock import utcnow
from hub.kit.ids import new_uuid


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source_org", "source_event_id"),
        Index(None, "recorded_at"),
        Index(None, "fanned_out_at", "recorded_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    type: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source_org: Mapped[str] = mapped_column(String(32))
    source_event_id: Mapped[str] = mapped_column(String(128))
    """Idempotency key of the event at its source (e.g. the consent id for a withdrawal)."""
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    """Non-personal details only (codes and ids)."""
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fanned_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When hub.alerts turned the event into its delivery rows; None while it waits. Writers
    that fan out in their own transaction (MOIS ingestion, POST /v1/events) set it there; the
    alerts workers fan out the rest (e.g. consent.withdrawn) and find them by this column."""
