"""PostgreSQL: enrolments and attribute facts check their persons once per statement.

The foreign keys `enrolments.person_id` and `attribute_facts.person_id` → `persons.id` ran, for
every row a file loads, a lookup of the person that also locks it (`FOR KEY SHARE`, a WAL
record each): about a fifth of the database's time in a load (benchmarks/RESULTS.md, issue 3).
They are replaced by the same guarantee, checked per statement:

- after each INSERT or UPDATE of either table, one anti-join of the statement's new rows
  (its transition table) against `persons`, by its key, raises `foreign_key_violation`
  (23503) if any row names a person that does not exist;
- `persons` rows are never deleted, truncated or given another id (civil status records a
  death or a deregistration). The foreign key's row lock stopped a concurrent delete of a
  person being referenced; with no deletes at all there is nothing to race with.

SQLite keeps the foreign keys: its check is a plain index probe, without locks or WAL.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 08:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("enrolments", "attribute_facts")

# The anti-join probes persons' key once per new row. Left to itself the planner hashes the
# statement's rows and reads all of persons instead (70 ms a 2,000-row chunk against 126,000
# persons, and growing with them; by index 3.5 ms).
CHECK = """
CREATE FUNCTION hub_persons_referenced() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    IF EXISTS (
        SELECT FROM new_rows AS n
        WHERE NOT EXISTS (SELECT FROM persons AS p WHERE p.id = n.person_id)
    ) THEN
        RAISE EXCEPTION 'a row of % names a person that does not exist', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$
"""

KEEP = """
CREATE FUNCTION hub_persons_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'persons are never deleted and keep their id (%)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CHECK)
    op.execute(KEEP)
    for table in TABLES:
        op.drop_constraint(f"fk_{table}_person_id_persons", table, type_="foreignkey")
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_persons_referenced_{event.lower()} AFTER {event} "
                f"ON {table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                "EXECUTE FUNCTION hub_persons_referenced()"
            )
    op.execute(
        "CREATE TRIGGER persons_kept BEFORE DELETE OR TRUNCATE ON persons "
        "FOR EACH STATEMENT EXECUTE FUNCTION hub_persons_kept()"
    )
    op.execute(
        "CREATE TRIGGER persons_kept_id BEFORE UPDATE OF id ON persons FOR EACH ROW "
        "WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION hub_persons_kept()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER persons_kept_id ON persons")
    op.execute("DROP TRIGGER persons_kept ON persons")
    for table in TABLES:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_persons_referenced_{event} ON {table}")
        op.create_foreign_key(
            f"fk_{table}_person_id_persons", table, "persons", ["person_id"], ["id"]
        )
    op.execute("DROP FUNCTION hub_persons_kept()")
    op.execute("DROP FUNCTION hub_persons_referenced()")
