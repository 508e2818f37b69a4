"""API clients of organisations, and the replay store of client-assertion `jti`s."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base
from hub.kit.clock import utcnow

AUTH_METHODS = ("private_key_jwt", "client_secret_basic")


class Client(Base):
    """A machine client of one organisation (RFC 7591 vocabulary).

    `private_key_jwt` clients register a public JWK set; `client_secret_basic` clients hold a
    generated secret of which only a SHA-256 digest is kept (a 256-bit random secret needs no
    slow hash: there is nothing to brute-force).
    """

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(
            f"auth_method IN ({', '.join(repr(m) for m in AUTH_METHODS)})", name="auth_method"
        ),
    )

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    auth_method: Mapped[str] = mapped_column(String(32))
    secret_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    scopes: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class UsedAssertion(Base):
    """A client assertion already spent (RFC 7523 §3 item 7: a `jti` is accepted once).

    Kept until the assertion's own expiry; after that it could not be replayed anyway.
    The primary key makes a replay a constraint violation, so the check holds across any
    number of hub processes.
    """

    __tablename__ = "used_assertions"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id"), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
