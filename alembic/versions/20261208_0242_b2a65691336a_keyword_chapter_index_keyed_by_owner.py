"""keyword chapter index keyed by owner

idx_keywords_chapter_id becomes keywords (chapter_id, user_id), user_id a key
column where it was carried (INCLUDE) since 5d0c7e91a4b3. A course's keywords
are read from their rows (the embedding), so a carried column filters nothing:
as the application, under keyword_isolation_select's user_id, the planner
ANDed a bitmap of every keyword of the learner (idx_keywords_user_id) into each
chapter's lookup, and find_similar_keywords() for one course cost a third more
than as admin_role (docs/BENCHMARKS.md). As a key, user_id is part of the
index condition.

The same steps as 5d0c7e91a4b3, each in its own transaction, re-runnable after
a kill at any point:
1. the index being replaced is renamed idx_keywords_chapter_id_ccold (an
   INVALID index left under the name by a failed build is renamed _ccnew and
   dropped instead); the two definitions differ in their number of key
   columns (pg_index.indnkeyatts: 1 with INCLUDE, 2 keyed);
2. the new index is built CONCURRENTLY under the name (IF NOT EXISTS: after
   step 1 a valid index of that name is the new one);
3. the old index is dropped CONCURRENTLY.
Queries use the old index until the new one is valid. The downgrade is the
same with the definitions swapped.

Revision ID: b2a65691336a
Revises: 4269fa5535f5
Create Date: 2026-12-08 02:42:59.123322+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "b2a65691336a"
down_revision: str | Sequence[str] | None = "4269fa5535f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"
# The schema's objects belong to this NOLOGIN role, and what a revision creates
# must too: the migrating login acts as it (it is a member). The build runs in
# autocommit, as the login; an index belongs to its table's owner whoever builds it.
SCHEMA_OWNER = "sensa_schema_owner"

INDEX = "idx_keywords_chapter_id"
# key columns -> the index's definition
DEFINITIONS = {
    1: "ON public.keywords (chapter_id) INCLUDE (user_id)",
    2: "ON public.keywords (chapter_id, user_id)",
}


def _swap(*, to_keys: int) -> None:
    """Replace the index by its definition with ``to_keys`` key columns."""
    retiring = 3 - to_keys
    with op.get_context().autocommit_block():
        # A build on a large table may outlast the session's statement timeout.
        op.execute("SET statement_timeout = 0")
        op.execute(f"""
            DO $retire$
            BEGIN
                IF EXISTS (
                    SELECT FROM pg_catalog.pg_index AS i
                    WHERE i.indexrelid = to_regclass('public.{INDEX}') AND NOT i.indisvalid
                ) THEN
                    ALTER INDEX public.{INDEX} RENAME TO {INDEX}_ccnew;
                ELSIF EXISTS (
                    SELECT FROM pg_catalog.pg_index AS i
                    WHERE i.indexrelid = to_regclass('public.{INDEX}')
                      AND i.indnkeyatts = {retiring}
                ) THEN
                    ALTER INDEX public.{INDEX} RENAME TO {INDEX}_ccold;
                END IF;
            END
            $retire$
        """)
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{INDEX}_ccnew")
        op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} {DEFINITIONS[to_keys]}")
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{INDEX}_ccold")


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    _swap(to_keys=2)


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    _swap(to_keys=1)
