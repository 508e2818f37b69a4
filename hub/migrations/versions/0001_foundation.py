"""Foundation: organisations, clients and spent assertions, programmes, persons (RRN sealed
and blind-indexed), enrolments and attribute facts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:48:43.977824
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name_ko", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("region_code", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('ministry', 'registry', 'local_government', 'welfare_centre', 'auditor', 'public_agency')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["organisations.code"],
            name=op.f("fk_organisations_parent_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organisations")),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rrn_kid", sa.String(length=64), nullable=False),
        sa.Column("rrn_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("rrn_index_kid", sa.String(length=64), nullable=False),
        sa.Column("rrn_index", sa.LargeBinary(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=6), nullable=False),
        sa.Column("region_code", sa.String(length=10), nullable=True),
        sa.Column("household_id", sa.String(length=64), nullable=True),
        sa.Column("civil_status", sa.String(length=16), nullable=False),
        sa.Column("civil_status_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "civil_status IN ('alive', 'deceased', 'deregistered')", name=op.f("ck_persons_civil")
        ),
        sa.CheckConstraint("sex IN ('male', 'female')", name=op.f("ck_persons_sex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint(
            "rrn_index_kid", "rrn_index", name=op.f("uq_persons_rrn_index_kid_rrn_index")
        ),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_household_id"), ["household_id"], unique=False)

    op.create_table(
        "attribute_facts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source_org", sa.String(length=32), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_attribute_facts_validity")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_attribute_facts_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["source_org"],
            ["organisations.code"],
            name=op.f("fk_attribute_facts_source_org_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute_facts")),
        sa.UniqueConstraint(
            "source_org",
            "source_record_id",
            "attribute",
            name=op.f("uq_attribute_facts_source_org_source_record_id_attribute"),
        ),
    )
    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attribute_facts_person_id_attribute"),
            ["person_id", "attribute"],
            unique=False,
        )

    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=True),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "auth_method IN ('private_key_jwt', 'client_secret_basic')",
            name=op.f("ck_clients_auth_method"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisations.code"],
            name=op.f("fk_clients_organisation_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clients_organisation_code"), ["organisation_code"], unique=False
        )

    op.create_table(
        "programmes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("ministry_code", sa.String(length=32), nullable=True),
        sa.Column("operator_code", sa.String(length=32), nullable=True),
        sa.Column("name_ko", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("catalogue_hash", sa.String(length=64), nullable=False),
        sa.Column("in_catalogue", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ministry_code"],
            ["organisations.code"],
            name=op.f("fk_programmes_ministry_code_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_code"],
            ["organisations.code"],
            name=op.f("fk_programmes_operator_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_programmes")),
    )
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programmes_category"), ["category"], unique=False)

    op.create_table(
        "enrolments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("programme_code", sa.String(length=64), nullable=False),
        sa.Column("source_org", sa.String(length=32), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_won", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'ended')", name=op.f("ck_enrolments_status")
        ),
        sa.CheckConstraint(
            "amount_won IS NULL OR amount_won >= 0", name=op.f("ck_enrolments_amount")
        ),
        sa.CheckConstraint(
            "period_end IS NULL OR period_end >= period_start", name=op.f("ck_enrolments_period")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_enrolments_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["programme_code"],
            ["programmes.code"],
            name=op.f("fk_enrolments_programme_code_programmes"),
        ),
        sa.ForeignKeyConstraint(
            ["source_org"],
            ["organisations.code"],
            name=op.f("fk_enrolments_source_org_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint(
            "source_org", "source_record_id", name=op.f("uq_enrolments_source_org_source_record_id")
        ),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolments_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enrolments_programme_code_period_start"),
            ["programme_code", "period_start"],
            unique=False,
        )

    op.create_table(
        "used_assertions",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name=op.f("fk_used_assertions_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_used_assertions")),
    )
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_used_assertions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_assertions_expires_at"))

    op.drop_table("used_assertions")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolments_programme_code_period_start"))
        batch_op.drop_index(batch_op.f("ix_enrolments_person_id"))

    op.drop_table("enrolments")
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programmes_category"))

    op.drop_table("programmes")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_organisation_code"))

    op.drop_table("clients")
    with op.batch_alter_table("attribute_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribute_facts_person_id_attribute"))

    op.drop_table("attribute_facts")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_household_id"))

    op.drop_table("persons")
    op.drop_table("organisations")
