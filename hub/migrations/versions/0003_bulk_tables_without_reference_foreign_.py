"""Bulk tables without reference foreign keys: enrolments, attribute facts and status events
no longer carry per-row foreign keys to organisations, programmes and ingest batches (checked
once per file by ingestion instead; see hub.records.models REFERENCE_NOTE), and lose the
batch_id indexes no query uses.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:09:31.654867
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribute_facts_batch_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_attribute_facts_batch_id_ingest_batches"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_attribute_facts_source_org_organisations"), type_="foreignkey"
        )

    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolments_batch_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_enrolments_batch_id_ingest_batches"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_enrolments_programme_code_programmes"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_enrolments_source_org_organisations"), type_="foreignkey"
        )

    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_events_batch_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_status_events_source_org_organisations"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_status_events_batch_id_ingest_batches"), type_="foreignkey"
        )


def downgrade() -> None:
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_status_events_batch_id_ingest_batches"),
            "ingest_batches",
            ["batch_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_status_events_source_org_organisations"),
            "organisations",
            ["source_org"],
            ["code"],
        )
        batch_op.create_index(batch_op.f("ix_status_events_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_enrolments_source_org_organisations"),
            "organisations",
            ["source_org"],
            ["code"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_enrolments_programme_code_programmes"),
            "programmes",
            ["programme_code"],
            ["code"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_enrolments_batch_id_ingest_batches"),
            "ingest_batches",
            ["batch_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_enrolments_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_attribute_facts_source_org_organisations"),
            "organisations",
            ["source_org"],
            ["code"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_attribute_facts_batch_id_ingest_batches"),
            "ingest_batches",
            ["batch_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_attribute_facts_batch_id"), ["batch_id"], unique=False)
