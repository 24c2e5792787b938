"""progress keeps its chapter

A progress row names its learner, course and chapter when it is inserted,
and the insert policy checks that the course and chapter are the learner's.
Updates never need to change them (a heartbeat adds time; completion,
streaks and badges change in place), yet progress_isolation_update's WITH
CHECK probed the course and the chapter again, each under its own policy, on
every heartbeat: the API's most frequent write, and most of row-level
security's remaining cost in the request mix (docs/BENCHMARKS.md).

sensa_app now updates only the progress columns themselves; progress_id,
user_id, course_id and chapter_id are fixed after the insert, for the API as
for an attacker holding its SQL (permission denied, before any row is read).
With the row's parents unchangeable, the update policy keeps only its owner
check: the rows that pass and fail are the same. Staff (admin_role) keep
UPDATE on every column.

The grants change in one transaction, so no heartbeat sees sensa_app without
UPDATE. Replacing the policy takes an ACCESS EXCLUSIVE lock on user_progress
for a catalog update only (LOCK_TABLES, with env.py's retries).

Revision ID: c80d0860132e
Revises: b13aaad83cf2
Create Date: 2026-12-07 20:10:31.204918+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "c80d0860132e"
down_revision: str | Sequence[str] | None = "b13aaad83cf2"
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
# must too: the migrating login acts as it (it is a member).
SCHEMA_OWNER = "sensa_schema_owner"
LOCK_TABLES = ("user_progress",)

PROGRESS_COLUMNS = (
    "completed",
    "completed_at",
    "time_spent_seconds",
    "current_streak_days",
    "longest_streak_days",
    "last_activity_date",
    "badges",
)
OWNER_CHECK = "user_id = (SELECT public.current_learner_id())"
PARENTS_CHECK = (
    " AND EXISTS (SELECT FROM public.courses c WHERE c.course_id = user_progress.course_id)"
    " AND EXISTS (SELECT FROM public.chapters ch WHERE ch.chapter_id = user_progress.chapter_id)"
)


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    op.execute(
        f"ALTER POLICY progress_isolation_update ON public.user_progress WITH CHECK ({OWNER_CHECK})"
    )
    op.execute("REVOKE UPDATE ON public.user_progress FROM sensa_app")
    op.execute(f"GRANT UPDATE ({', '.join(PROGRESS_COLUMNS)}) ON public.user_progress TO sensa_app")


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    op.execute(
        f"ALTER POLICY progress_isolation_update ON public.user_progress"
        f" WITH CHECK ({OWNER_CHECK}{PARENTS_CHECK})"
    )
    # Revoking the table's UPDATE also revokes every column's.
    op.execute("REVOKE UPDATE ON public.user_progress FROM sensa_app")
    op.execute("GRANT UPDATE ON public.user_progress TO sensa_app")
