"""Facts an enrolment confers are derived when read (hub.records.facts), not stored: the
derived rows go, and with them `attribute_facts.enrolment_id`; every stored fact now comes from
a source record, so its record id and fingerprint are required.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM attribute_facts WHERE enrolment_id IS NOT NULL")
    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attribute_facts_one_origin"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_attribute_facts_enrolment_id_enrolments"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_attribute_facts_enrolment_id_attribute_value_key"), type_="unique"
        )
        batch_op.drop_column("enrolment_id")
        batch_op.alter_column(
            "source_record_id", existing_type=sa.VARCHAR(length=128), nullable=False
        )
        batch_op.alter_column("fingerprint", existing_type=sa.VARCHAR(length=64), nullable=False)


def downgrade() -> None:
    # The derived rows are not recreated: re-ingesting the enrolment files would write them.
    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.alter_column(
            "source_record_id", existing_type=sa.VARCHAR(length=128), nullable=True
        )
        batch_op.add_column(sa.Column("enrolment_id", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_attribute_facts_enrolment_id_attribute_value_key"),
            ["enrolment_id", "attribute", "value_key"],
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
