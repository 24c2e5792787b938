"""pipeline indexes built concurrently: the cache key and the rated content

- idx_processed_docs_cache_key: the processed documents made from one stored
  result; it replaces the index of processed_documents' UNIQUE (cache_key),
  which the next revision drops, so the column is never without one.
- idx_annotations_processed_id: a processed document's ratings (and the SET NULL
  of its foreign key when it is deleted).
- idx_annotations_content_consensus: get_content_consensus()'s groups.

Built CONCURRENTLY, so writes go on during the builds; re-runnable after an
interruption (docs/MIGRATION_GUIDELINES.md).

Revision ID: 3b41c401d426
Revises: 11319e7df4f8
Create Date: 2026-11-30 07:55:34.675769+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "3b41c401d426"
down_revision: str | Sequence[str] | None = "11319e7df4f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "idx_processed_docs_cache_key": "processed_documents (cache_key)",
    "idx_annotations_processed_id": "user_annotations (processed_id)",
    "idx_annotations_content_consensus": (
        "user_annotations (cache_key, feedback_type, rating)"
        " WHERE processed = false AND cache_key IS NOT NULL"
    ),
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # A build on a large table may outlast the session's statement timeout.
        op.execute("SET statement_timeout = 0")
        for name, definition in INDEXES.items():
            # A previous attempt may have left the index INVALID (a failed
            # build) or valid but unrecorded (killed before alembic_version moved).
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{name}")
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON public.{definition}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in reversed(INDEXES):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{name}")
