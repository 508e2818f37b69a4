"""Enrolments: the person index also keys the programme.

`ix_enrolments_person_id` (person) becomes `ix_enrolments_person_programme` (person,
programme). It still serves every lookup of a person's enrolments, and a household rule's
lookup of a member's enrolments of one programme now reads only those (hub.duplicates.sql).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 10:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrolments_person_programme", ["person_id", "programme_code"], unique=False
        )
        batch_op.drop_index("ix_enrolments_person_id")


def downgrade() -> None:
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index("ix_enrolments_person_id", ["person_id"], unique=False)
        batch_op.drop_index("ix_enrolments_person_programme")
