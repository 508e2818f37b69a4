"""Tables of the disclosure log.

`disclosure_entries` is append-only: rows are inserted by the disclosing transaction and never
updated or deleted (retention works on whole checkpointed ranges). The sequencer adds, in its
own tables, the leaf index of each entry (`audit_leaves`), the hashes of the tree's perfect
aligned subtrees (`audit_nodes`: level h, position j covers leaves [j·2^h, (j+1)·2^h)), and the
signed checkpoints (`audit_checkpoints`). Any root or proof is then a handful of indexed reads
(audit.merkle.range_subtrees), whatever the log's size.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.base import Base, UTCDateTime

# SQLite gives an autoincrementing key only to a column declared exactly INTEGER PRIMARY KEY.
Serial = BigInteger().with_variant(Integer(), "sqlite")


class DisclosureEntry(Base):
    """One disclosure or refusal (schemas.disclosure.Disclosure), as recorded."""

    __tablename__ = "disclosure_entries"
    __table_args__ = (
        Index(None, "organisation", "recorded_at"),
        Index(None, "subject_ref", "recorded_at"),
        Index(None, "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[str | None] = mapped_column(String(128))
    actor: Mapped[str | None] = mapped_column(String(128))
    subject_ref: Mapped[str | None] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str | None] = mapped_column(String(80))
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    fields: Mapped[list[str]] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[str | None] = mapped_column(String(128))
    rule_set_hash: Mapped[str] = mapped_column(String(64))


class AuditPending(Base):
    """An entry not yet sequenced. `record` adds one in the disclosing transaction; the
    sequencer takes them in id order and removes them as it sequences them. A queue of its
    own, because entry ids are allocated at insert but transactions commit in another order:
    a watermark over ids could skip an entry that committed late."""

    __tablename__ = "audit_pending"

    entry_id: Mapped[int] = mapped_column(
        Serial, ForeignKey("disclosure_entries.id"), primary_key=True, autoincrement=False
    )


class AuditLeaf(Base):
    """The leaf index the sequencer gave an entry (in the order it saw entries committed)."""

    __tablename__ = "audit_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(Serial, ForeignKey("disclosure_entries.id"), unique=True)
    sequenced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AuditNode(Base):
    """The hash of a perfect aligned subtree: level h, position j = leaves [j·2^h, (j+1)·2^h).
    Level 0 holds the leaf hashes."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed checkpoint: C2SP tlog-checkpoint text in an Ed25519 signed note."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    """The key set's kid of the log-signing key that signed it."""
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AuditPruning(Base):
    """A removal of the log's oldest entries under the retention rules (audit.prune): the
    entries of leaves [0, size) are gone from the database, kept in the archived export whose
    SHA-256 is recorded. The tree's hashes (`audit_nodes`) and checkpoints all stay, so roots
    and proofs remain answerable and verification starts at the checkpoint of `size`."""

    __tablename__ = "audit_prunings"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """Leaves before this index were pruned; a checkpoint signs this size."""
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    """The root that checkpoint signs."""
    archive_sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the export that holds the pruned entries, verified before they were removed."""
    entries: Mapped[int] = mapped_column(BigInteger)
    """How many entries this pruning removed."""
    pruned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
