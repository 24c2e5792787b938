"""backup role reads every row

A logical dump on RDS needs a role that reads every row of every table: the
owner (the RDS master user) sees no learner row, because row-level security is
FORCEd on it, and nobody there is a superuser or may grant BYPASSRLS
(PostgreSQL 15 reserves it to superusers). sensa_backup is a NOLOGIN role with
SELECT on every table, the bookkeeping ones included, SELECT on the two
sequences (a dump restores their positions), and one SELECT policy per learner
table, USING (true). It holds no other privilege: it cannot write or change
anything. Backup and export logins are made its members; the migrating role
never is, since a policy applies to a role's members.

The role is cluster-wide and kept on downgrade, as are the other roles; the
grants and policies are revoked and dropped.

Runs as the migrating login: creating a role needs its CREATEROLE, and USAGE
on the schema is granted by the schema's owner, the database owner. The grants
on tables and sequences and the policies are then made as sensa_schema_owner,
which owns them. Creating a policy takes an ACCESS EXCLUSIVE lock on its table
for a catalog update only: the twelve learner tables are locked first
(LOCK_TABLES).

Revision ID: b13aaad83cf2
Revises: 5d0c7e91a4b3
Create Date: 2026-12-07 18:10:00.000000+00:00

"""

from collections.abc import Sequence

from alembic import op
from alembic_utils.pg_policy import PGPolicy

revision: str = "b13aaad83cf2"
down_revision: str | Sequence[str] | None = "5d0c7e91a4b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"
# The schema's objects belong to this NOLOGIN role; the grants and policies are
# made as it, after the role and its USAGE on the schema (see the docstring).
SCHEMA_OWNER = "sensa_schema_owner"
LOCK_TABLES = (
    "users",
    "user_profiles",
    "courses",
    "course_documents",
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
    "user_annotations",
    "user_progress",
    "analogy_feedback",
)

CREATE_BACKUP_ROLE = """
DO $role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'sensa_backup') THEN
        BEGIN
            CREATE ROLE sensa_backup NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                NOREPLICATION NOBYPASSRLS;
        EXCEPTION
            -- Another database's migration created it between check and create.
            WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF EXISTS (
        SELECT FROM pg_catalog.pg_roles
        WHERE rolname = 'sensa_backup'
            AND (rolsuper OR rolbypassrls OR rolcanlogin OR rolcreaterole OR rolcreatedb
                 OR rolreplication)
    ) THEN
        RAISE EXCEPTION 'role sensa_backup exists with more than NOLOGIN and SELECT: %',
            'SUPERUSER, BYPASSRLS, LOGIN, CREATEROLE, CREATEDB or REPLICATION'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$role$
"""

# Every table, the bookkeeping ones included: a dump missing one cannot be restored whole.
TABLES = ", ".join(
    (
        *LOCK_TABLES,
        "migrations_log",
        "alembic_version",
        "audit_log",
        "pipeline_results",
        "document_claims",
    )
)
SEQUENCES = "public.audit_log_audit_id_seq, public.migrations_log_migration_id_seq"


def backup_policy(table: str) -> PGPolicy:
    """The backup role reads every row of ``table``: one SELECT policy, USING (true)."""
    return PGPolicy(
        schema="public",
        signature=f"backup_{table}_read",
        on_entity=f"public.{table}",
        definition="AS PERMISSIVE FOR SELECT TO sensa_backup\n    USING (true)",
    )


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(CREATE_BACKUP_ROLE)
    op.execute("GRANT USAGE ON SCHEMA public TO sensa_backup")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    op.execute(f"GRANT SELECT ON {TABLES} TO sensa_backup")
    op.execute(f"GRANT SELECT ON SEQUENCE {SEQUENCES} TO sensa_backup")

    for table in LOCK_TABLES:
        op.create_entity(backup_policy(table))


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    for table in reversed(LOCK_TABLES):
        op.drop_entity(backup_policy(table))

    op.execute(f"REVOKE SELECT ON SEQUENCE {SEQUENCES} FROM sensa_backup")
    op.execute(f"REVOKE SELECT ON {TABLES} FROM sensa_backup")
    op.execute("RESET ROLE")
    op.execute("REVOKE USAGE ON SCHEMA public FROM sensa_backup")
