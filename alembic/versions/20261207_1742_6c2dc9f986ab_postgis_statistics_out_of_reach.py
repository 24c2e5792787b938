"""postgis statistics out of reach

pg_stats hides the statistics of a table under row-level security from a role
that RLS applies to, but PostGIS's own functions read pg_statistic and the
indexes directly: _postgis_stats(), ST_EstimatedExtent() and the selectivity
and index-extent helpers told the API's and the worker's logins the extent of
every learner's location_point (the worker holds no grant on the table at
all). EXECUTE on them is revoked from PUBLIC; the planner calls its
estimators without that privilege, so plans do not change.

Runs as the migrating login, which owns the extension's functions where it
created the extension (RDS; locally, scripts/setup.sh hands them to it). If it
does not own them, REVOKE would only warn, so the revision checks the result
and fails naming the owner to run it as.

Revision ID: 6c2dc9f986ab
Revises: dd42fe63ba2f
Create Date: 2026-12-07 17:42:02.230680+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "6c2dc9f986ab"
down_revision: str | Sequence[str] | None = "dd42fe63ba2f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"

STATISTICS_FUNCTIONS = """
    SELECT p.oid::pg_catalog.regprocedure AS function, p.proowner::pg_catalog.regrole AS owner
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_depend d
        ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'postgis'
    WHERE p.proname IN ('_postgis_stats', '_postgis_selectivity', '_postgis_join_selectivity',
                        '_postgis_index_extent', 'st_estimatedextent')
"""

REVOKE = f"""
DO $$
DECLARE
    statistics record;
BEGIN
    FOR statistics IN {STATISTICS_FUNCTIONS} LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', statistics.function);
        IF pg_catalog.has_function_privilege('sensa_app', statistics.function, 'EXECUTE')
            OR pg_catalog.has_function_privilege('sensa_worker', statistics.function, 'EXECUTE')
        THEN
            RAISE EXCEPTION 'could not revoke EXECUTE on % from PUBLIC: % owns it', statistics.function,
                statistics.owner
                USING HINT = pg_catalog.format('run the migration as %s, or a member of it', statistics.owner);
        END IF;
    END LOOP;
END
$$
"""

GRANT = f"""
DO $$
DECLARE
    statistics record;
BEGIN
    FOR statistics IN {STATISTICS_FUNCTIONS} LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', statistics.function);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(REVOKE)


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(GRANT)
