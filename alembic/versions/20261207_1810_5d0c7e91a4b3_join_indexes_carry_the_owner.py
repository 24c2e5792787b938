"""join indexes carry the owner

The indexes that a learner's joins walk from a course down to its keywords
also carry (INCLUDE) user_id and the columns those joins read, keeping their
names and key columns:

- idx_documents_course_id: course_documents (course_id) INCLUDE (processing_status, user_id)
- idx_processed_docs_course_id: processed_documents (course_id) INCLUDE (processed_id, user_id)
- idx_chapters_processed_id: chapters (processed_id) INCLUDE (chapter_id, user_id)
- idx_keywords_chapter_id: keywords (chapter_id) INCLUDE (user_id)

Every learner policy on these tables is user_id = the request context. Without
user_id in the index the filter read each row's heap page, so course
statistics and the progress summary, index-only as admin_role, were index
scans and bitmap ANDs with the user_id indexes as the application
(docs/BENCHMARKS.md).

No function follows these indexes (the same keys serve the same queries), so
per index, each step in its own transaction, re-runnable after a kill at any
point:
1. the index without INCLUDE columns is renamed <name>_ccold (an INVALID
   index left under <name> by a failed build is renamed <name>_ccnew and
   dropped instead); env.py drops an INVALID index of either suffix rather
   than rebuilding it;
2. the new index is built CONCURRENTLY under the name (IF NOT EXISTS: after
   step 1 a valid index of that name is the new one);
3. the old index is dropped CONCURRENTLY.
Queries use the old index until the new one is valid. The downgrade is the
same with the definitions swapped.

Revision ID: 5d0c7e91a4b3
Revises: 7d0d768b3417
Create Date: 2026-12-07 18:10:12.118310+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "5d0c7e91a4b3"
down_revision: str | Sequence[str] | None = "7d0d768b3417"
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
# must too: the migrating login acts as it (it is a member). The builds run in
# autocommit, as the login; an index belongs to its table's owner whoever builds it.
SCHEMA_OWNER = "sensa_schema_owner"

# index name -> (table, key column, columns carried)
INDEXES = {
    "idx_documents_course_id": ("course_documents", "course_id", "processing_status, user_id"),
    "idx_processed_docs_course_id": ("processed_documents", "course_id", "processed_id, user_id"),
    "idx_chapters_processed_id": ("chapters", "processed_id", "chapter_id, user_id"),
    "idx_keywords_chapter_id": ("keywords", "chapter_id", "user_id"),
}


def _retire(name: str, *, carrying: bool) -> str:
    """Step 1: move the definition being replaced (with INCLUDE columns, pg_index's
    indnatts exceeds indnkeyatts; without, they are equal) out of the name, and an
    INVALID index under the name aside for its drop."""
    retiring = "i.indnatts > i.indnkeyatts" if carrying else "i.indnatts = i.indnkeyatts"
    return f"""
        DO $retire$
        BEGIN
            IF EXISTS (
                SELECT FROM pg_catalog.pg_index AS i
                WHERE i.indexrelid = to_regclass('public.{name}') AND NOT i.indisvalid
            ) THEN
                ALTER INDEX public.{name} RENAME TO {name}_ccnew;
            ELSIF EXISTS (
                SELECT FROM pg_catalog.pg_index AS i
                WHERE i.indexrelid = to_regclass('public.{name}') AND {retiring}
            ) THEN
                ALTER INDEX public.{name} RENAME TO {name}_ccold;
            END IF;
        END
        $retire$
    """


def _swap(*, carrying: bool) -> None:
    """Replace each index by its definition with (``carrying``) or without INCLUDE."""
    with op.get_context().autocommit_block():
        # A build on a large table may outlast the session's statement timeout.
        op.execute("SET statement_timeout = 0")
        for name, (table, key, carried) in INDEXES.items():
            op.execute(_retire(name, carrying=not carrying))
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{name}_ccnew")
            include = f" INCLUDE ({carried})" if carrying else ""
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON public.{table} ({key}){include}"
            )
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{name}_ccold")


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    _swap(carrying=True)


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    _swap(carrying=False)
