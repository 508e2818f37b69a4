"""Subscriptions and the delivery outbox of status-change alerts (DESIGN.md, "Alerts delivery").

A delivery row is one event for one subscription: it is written in the transaction that fans
the event out, together with its disclosure-log entry, and it is what the webhook workers send
and what the pull feed reads. Nothing here holds personal data in the clear: `data` carries
only the subscriber's own pseudonym of the person and non-identifying details, and the signing
secret is sealed with the vault (AES-256-GCM, AAD bound to table, column and row id).
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
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from audit.models import Serial
from hub.kit.base import Base, UTCDateTime
from hub.kit.clock import utcnow

WEBHOOK, PULL = "webhook", "pull"
ACTIVE, DISABLED, DELETED = "active", "disabled", "deleted"
PENDING, DELIVERED, DEAD, FEED = "pending", "delivered", "dead", "feed"


class AlertSubscription(Base):
    """An organisation's wish to learn of some event types, by webhook or by pulling a feed."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (
        CheckConstraint("mode IN ('webhook', 'pull')", name="mode"),
        CheckConstraint("status IN ('active', 'disabled', 'deleted')", name="status"),
        CheckConstraint(
            "mode = 'pull' OR (url IS NOT NULL AND secret_sealed IS NOT NULL)", name="webhook"
        ),
        Index(None, "organisation", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation: Mapped[str] = mapped_column(ForeignKey("organisations.code"))
    client_id: Mapped[str] = mapped_column(String(128))
    """The client that created it; the log names it as the recipient's client."""
    event_types: Mapped[list[str]] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    secret_kid: Mapped[str | None] = mapped_column(String(64), default=None)
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    """The `whsec_` signing secret, sealed by hub.vault (never stored in the clear)."""
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    """The last feed position given out. Raised only by a fan-out transaction, which holds
    this row's lock until it commits, so positions are gap-free and appear in order
    (hub.alerts.fanout)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertDelivery(Base):
    """One event for one subscription: its feed position, what was disclosed, and (for a
    webhook) where its delivery stands. `id` is the event's id as this subscriber sees it:
    the CloudEvent `id` and the `webhook-id`, the same on every retry."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "seq"),
        UniqueConstraint("subscription_id", "event_id"),
        CheckConstraint("status IN ('pending', 'delivered', 'dead', 'feed')", name="status"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "event_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("alert_subscriptions.id"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source_org: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The CloudEvent data, exactly as disclosed and logged at fan-out."""
    disclosure_id: Mapped[int] = mapped_column(Serial, ForeignKey("disclosure_entries.id"))
    status: Mapped[str] = mapped_column(String(10))
    """pending → delivered | dead for a webhook; `feed` for a pull subscription."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    """The end of a worker's lease, also set as the row's due time: until then no other worker
    takes the row; a killed worker's lease simply runs out and the row is sent again."""
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
