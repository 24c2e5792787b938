"""schema revision for start-up checks

public.schema_revision(p_revision) tells any login the revision the database
is at and whether p_revision was applied and not reverted since, so that an
application can refuse to start on a database that is behind or ahead of its
package (sensa_db.database.check_schema). Its logins may read neither
alembic_version nor migrations_log, so the function is SECURITY DEFINER, owned
by sensa_revision_reader: a NOLOGIN role whose only rights are SELECT on
alembic_version and on migrations_log's migration_id, revision and direction.
It returns revision ids only; EXECUTE stays with PUBLIC.

The role is created when missing and never dropped (roles are cluster-wide),
and sensa_schema_owner is made a member, so that a later revision running as
it may replace the function. Runs as the migrating login: creating a role
needs CREATEROLE, and the function's new owner needs CREATE on the schema
while it is handed over, which only the schema's owner (the database owner)
can grant. The grants on the two tables are made as sensa_schema_owner, their
owner. No table is locked: the grants and the function change catalog rows
only.

Revision ID: b17d6128de9c
Revises: 6c2dc9f986ab
Create Date: 2026-12-07 18:00:00.000000+00:00

"""

from collections.abc import Sequence

from alembic import op
from alembic_utils.pg_function import PGFunction

revision: str = "b17d6128de9c"
down_revision: str | Sequence[str] | None = "6c2dc9f986ab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"
LOCK_TABLES = ()
SCHEMA_OWNER = "sensa_schema_owner"
READER = "sensa_revision_reader"

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{READER}') THEN
        CREATE ROLE {READER} NOLOGIN;
    END IF;
END
$$
"""
LOG_COLUMNS = "migration_id, revision, direction"

public_schema_revision = PGFunction(
    schema="public",
    signature="schema_revision(p_revision text)",
    definition=(
        "RETURNS TABLE (current_revision text, revision_applied boolean)\n"
        "LANGUAGE sql\n"
        "STABLE\n"
        "SECURITY DEFINER\n"
        "SET search_path = pg_catalog, pg_temp\n"
        "AS $$\n"
        "    SELECT\n"
        "        (SELECT pg_catalog.string_agg(v.version_num, ' ' ORDER BY v.version_num)\n"
        "         FROM public.alembic_version v),\n"
        "        coalesce(\n"
        "            (SELECT l.direction = 'upgrade'\n"
        "             FROM public.migrations_log l\n"
        "             WHERE l.revision = p_revision\n"
        "             ORDER BY l.migration_id DESC\n"
        "             LIMIT 1),\n"
        "            false\n"
        "        );\n"
        "$$"
    ),
)


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(CREATE_ROLE)
    op.execute(f"GRANT {READER} TO {SCHEMA_OWNER}")
    op.create_entity(public_schema_revision)
    # A new owner needs CREATE on the schema, at this moment only.
    op.execute(f"GRANT CREATE ON SCHEMA public TO {READER}")
    op.execute(f"ALTER FUNCTION public.schema_revision(text) OWNER TO {READER}")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {READER}")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    op.execute(f"GRANT SELECT ON public.alembic_version TO {READER}")
    op.execute(f"GRANT SELECT ({LOG_COLUMNS}) ON public.migrations_log TO {READER}")


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    op.drop_entity(public_schema_revision)
    op.execute(f"REVOKE SELECT ({LOG_COLUMNS}) ON public.migrations_log FROM {READER}")
    op.execute(f"REVOKE SELECT ON public.alembic_version FROM {READER}")
