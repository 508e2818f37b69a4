"""A flag on a case that a registry event raised (hub.cases.consequences): reassessment after a
death in a household of more than one, or transfer after a move to another 시군구.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 05:00:47.625729
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attention", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("attention_since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("attention_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("transfer_region", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("transfer_region")
        batch_op.drop_column("attention_reason")
        batch_op.drop_column("attention_since")
        batch_op.drop_column("attention")
