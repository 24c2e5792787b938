"""concept-map owner, backfill: stamp user_id on the rows that existed before the triggers

Fills user_id on the six concept-map tables top-down (documents from their
course, processed documents from their document, chapters from their processed
document, the rest from their chapter), the same values the triggers give new
rows. Each table is walked in primary-key order, 5,000 rows per transaction,
committed as it goes: no long lock, no long transaction, and a run that is
interrupted resumes where rows are still NULL.

Every table here is under FORCEd row-level security and the migrating role has
no policy of its own, so it would see no row. Each batch acts as admin_role,
through a membership granted and revoked inside that batch's transaction (as
`sensa-db seed` does): no other session ever sees the membership, and the
owner keeps no standing way around the policies.

Stamping a document fires propagate_concept_map_owner(), which stamps the rows
below it too, so the later walks mostly find nothing left to do. It also
re-files a processed document recorded under a course other than its
document's (which the old policies showed to no one consistently) under the
document's own course: the trigger's rule from now on.

Revision ID: 6e1f8a3c5d27
Revises: 4b7e0c2a9f13
Create Date: 2026-11-22 03:49:03.118204+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "6e1f8a3c5d27"
down_revision: str | Sequence[str] | None = "4b7e0c2a9f13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_ROWS = 5000

# (table, its primary key, the parent it takes the owner from, the join)
OWNER_SOURCES = (
    ("course_documents", "document_id", "public.courses p", "p.course_id = t.course_id"),
    (
        "processed_documents",
        "processed_id",
        "public.course_documents p",
        "p.document_id = t.document_id AND p.course_id = t.course_id",
    ),
    ("chapters", "chapter_id", "public.processed_documents p", "p.processed_id = t.processed_id"),
    ("keywords", "keyword_id", "public.chapters p", "p.chapter_id = t.chapter_id"),
    ("relationships", "relationship_id", "public.chapters p", "p.chapter_id = t.chapter_id"),
    ("chapter_complexity", "complexity_id", "public.chapters p", "p.chapter_id = t.chapter_id"),
)


def backfill(table: str, key: str, parent: str, join: str) -> str:
    return f"""
DO $backfill$
DECLARE
    migrator text := current_user;
    -- Below every key gen_random_uuid() makes; a row whose key is the nil
    -- UUID itself would stay NULL and stop the contract revision, by name.
    last_key uuid := '00000000-0000-0000-0000-000000000000';
BEGIN
    LOOP
        EXECUTE format('GRANT admin_role TO %I', migrator);
        SET LOCAL ROLE admin_role;
        WITH batch AS (
            SELECT {key} FROM public.{table}
            WHERE {key} > last_key
            ORDER BY {key}
            LIMIT {BATCH_ROWS}
        ), stamped AS (
            UPDATE public.{table} t SET user_id = p.user_id
            FROM {parent}
            WHERE {join}
                AND t.{key} IN (SELECT {key} FROM batch)
                AND t.user_id IS NULL
        )
        SELECT {key} INTO last_key FROM batch ORDER BY {key} DESC LIMIT 1;
        RESET ROLE;
        EXECUTE format('REVOKE admin_role FROM %I', migrator);
        COMMIT;
        EXIT WHEN last_key IS NULL;
    END LOOP;
END
$backfill$
"""


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # Batches commit as they go (inside the DO blocks); the session's
        # statement timeout would count the whole walk as one statement.
        op.execute("SET statement_timeout = 0")
        for source in OWNER_SOURCES:
            op.execute(backfill(*source))


def downgrade() -> None:
    # Nothing to undo: the expand revision's downgrade drops the column.
    pass
