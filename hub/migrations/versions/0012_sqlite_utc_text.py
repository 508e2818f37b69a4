"""SQLite: one text format for every stored UTC time.

Rows written by the bulk paths (`hub.database.copy_rows`, `bulk_insert`: ingestion, alert
fan-out, the log sequencer) had their aware datetimes turned into text by sqlite3's default
adapter, `2026-11-24 06:00:00.123456+00:00` (and without the fraction when it is zero), where
SQLAlchemy writes `2026-11-24 06:00:00.123456`. Both read back as the same instant, but SQLite
compares and orders them as text, so a column holding both formats could misorder equal
instants. The bulk paths now write SQLAlchemy's format; this rewrites what they wrote before.
PostgreSQL stores timestamptz values, not text: nothing to do there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 06:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every UTCDateTime column at this revision.
COLUMNS = {
    "alert_deliveries": (
        "occurred_at",
        "next_attempt_at",
        "claimed_until",
        "created_at",
        "delivered_at",
    ),
    "alert_subscriptions": ("created_at", "changed_at"),
    "attribute_facts": ("recorded_at",),
    "audit_checkpoints": ("issued_at",),
    "audit_leaves": ("sequenced_at",),
    "audit_prunings": ("pruned_at",),
    "case_assessments": ("recorded_at",),
    "case_notes": ("recorded_at",),
    "case_plan_items": ("recorded_at",),
    "case_referrals": ("answered_at", "recorded_at"),
    "case_shares": ("recorded_at",),
    "case_steps": ("recorded_at",),
    "cases": ("opened_at", "updated_at"),
    "clients": ("created_at",),
    "consents": ("valid_from", "valid_until", "given_at", "recorded_at", "withdrawn_at"),
    "disclosure_entries": ("recorded_at",),
    "duplicate_findings": ("found_at",),
    "duplicate_resolutions": ("recorded_at",),
    "duplicate_scans": ("started_at", "finished_at"),
    "enrolments": ("created_at", "updated_at"),
    "events": ("occurred_at", "recorded_at", "fanned_out_at"),
    "idempotent_responses": ("created_at",),
    "ingest_batches": ("started_at", "finished_at"),
    "organisations": ("created_at",),
    "persons": ("created_at", "updated_at"),
    "programmes": ("updated_at",),
    "status_events": ("recorded_at",),
    "used_assertions": ("expires_at",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            # `…+00:00` loses its offset, and a time without a fraction gets `.000000`.
            op.execute(
                f'UPDATE "{table}" SET "{column}" = '  # noqa: S608 (names from this file)
                f"""substr("{column}", 1, 19) || CASE WHEN substr("{column}", 20, 1) = '.' """
                f"""THEN substr("{column}", 20, 7) ELSE '.000000' END """
                f"""WHERE "{column}" LIKE '%+00:00'"""
            )


def downgrade() -> None:
    """Nothing to undo: the times mean what they meant."""
