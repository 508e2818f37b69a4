"""Ingestion: batches and rejected rows, status events, record fingerprints (idempotent
re-ingest), and attribute facts derived from enrolments.

Existing rows get empty fingerprints/value keys (a later ingest rewrites them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:04:02.792078
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=48), nullable=False),
        sa.Column("organisation", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_bytes", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed')", name=op.f("ck_ingest_batches_status")
        ),
        sa.ForeignKeyConstraint(
            ["organisation"],
            ["organisations.code"],
            name=op.f("fk_ingest_batches_organisation_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_batches")),
    )
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_batches_organisation"), ["organisation"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ingest_batches_source"), ["source"], unique=False)

    op.create_table(
        "ingest_rejections",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ingest_batches.id"],
            name=op.f("fk_ingest_rejections_batch_id_ingest_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "row", name=op.f("pk_ingest_rejections")),
    )
    op.create_table(
        "status_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("source_org", sa.String(length=32), nullable=False),
        sa.Column("source_event_id", sa.String(length=128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ingest_batches.id"],
            name=op.f("fk_status_events_batch_id_ingest_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_status_events_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["source_org"],
            ["organisations.code"],
            name=op.f("fk_status_events_source_org_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_events")),
        sa.UniqueConstraint(
            "source_org",
            "source_event_id",
            name=op.f("uq_status_events_source_org_source_event_id"),
        ),
    )
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_events_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_status_events_person_id_effective_date"),
            ["person_id", "effective_date"],
            unique=False,
        )

    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("value_key", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("enrolment_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("batch_id", sa.Uuid(), nullable=True))
        batch_op.alter_column(
            "source_record_id", existing_type=sa.VARCHAR(length=128), nullable=True
        )
        batch_op.create_index(batch_op.f("ix_attribute_facts_batch_id"), ["batch_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_attribute_facts_enrolment_id_attribute_value_key"),
            ["enrolment_id", "attribute", "value_key"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_attribute_facts_batch_id_ingest_batches"),
            "ingest_batches",
            ["batch_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_attribute_facts_enrolment_id_enrolments"),
            "enrolments",
            ["enrolment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            op.f("ck_attribute_facts_one_origin"),
            "(source_record_id IS NULL) <> (enrolment_id IS NULL)",
        )
    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.alter_column("value_key", server_default=None)

    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fingerprint", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("batch_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_enrolments_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_enrolments_batch_id_ingest_batches"),
            "ingest_batches",
            ["batch_id"],
            ["id"],
        )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_enrolments_batch_id_ingest_batches"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_enrolments_batch_id"))
        batch_op.drop_column("batch_id")
        batch_op.drop_column("fingerprint")

    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_attribute_facts_enrolment_id_enrolments"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_attribute_facts_batch_id_ingest_batches"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_attribute_facts_enrolment_id_attribute_value_key"), type_="unique"
        )
        batch_op.drop_constraint(batch_op.f("ck_attribute_facts_one_origin"), type_="check")
        batch_op.drop_index(batch_op.f("ix_attribute_facts_batch_id"))
        batch_op.alter_column(
            "source_record_id", existing_type=sa.VARCHAR(length=128), nullable=False
        )
        batch_op.drop_column("batch_id")
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("enrolment_id")
        batch_op.drop_column("value_key")

    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_events_person_id_effective_date"))
        batch_op.drop_index(batch_op.f("ix_status_events_batch_id"))

    op.drop_table("status_events")
    op.drop_table("ingest_rejections")
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_batches_source"))
        batch_op.drop_index(batch_op.f("ix_ingest_batches_organisation"))

    op.drop_table("ingest_batches")
