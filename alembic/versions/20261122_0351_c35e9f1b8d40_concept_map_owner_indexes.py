"""concept-map owner, indexes: user_id on the six tables below courses, built concurrently

One index per table for the learner policies the next revision writes
(user_id = <request context>). Built CONCURRENTLY, so writes go on during
the builds; re-runnable after an interruption (docs/MIGRATION_GUIDELINES.md).

Revision ID: c35e9f1b8d40
Revises: 8a4d6b2e7c91
Create Date: 2026-11-22 03:51:17.902433+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "c35e9f1b8d40"
down_revision: str | Sequence[str] | None = "8a4d6b2e7c91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONCEPT_MAP_TABLES = (
    "course_documents",
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # A build on a large table may outlast the session's statement timeout.
        op.execute("SET statement_timeout = 0")
        for table in CONCEPT_MAP_TABLES:
            # A previous attempt may have left the index INVALID (a failed
            # build) or valid but unrecorded (killed before alembic_version moved).
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.idx_{table}_user_id")
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_{table}_user_id"
                f" ON public.{table} (user_id)"
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table in reversed(CONCEPT_MAP_TABLES):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.idx_{table}_user_id")
