"""schema owned by nologin role

The schema's tables, sequences, types and functions move from the migrating
login to sensa_schema_owner, a role that cannot log in, create roles or create
databases. Until now they belonged to the login (locally sensa_owner, on RDS
the master user), which has CREATEROLE: whatever ran as their owner could make
roles and grant memberships. The login reaches the objects by membership
(granted by the revision before), so alembic, and staff's ALTER statements,
work as before; FORCEd row-level security still applies to both. Later
revisions run as sensa_schema_owner (SET LOCAL ROLE, script.py.mako), so what
they create is its own. The definers keep their own owners (sensa_audit_writer,
sensa_consensus), and the worker's protocol gets its own in the next revision.

ALTER ... OWNER takes an ACCESS EXCLUSIVE lock on each table for a catalog
update; every table is locked first, children first (LOCK_TABLES).

Revision ID: 05dfeae63356
Revises: 0c13d19e46ac
Create Date: 2026-12-07 17:35:56.131932+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "05dfeae63356"
down_revision: str | Sequence[str] | None = "0c13d19e46ac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"
LOCK_TABLES = (
    "alembic_version",
    "analogy_feedback",
    "audit_log",
    "chapter_complexity",
    "chapters",
    "course_documents",
    "courses",
    "document_claims",
    "keywords",
    "migrations_log",
    "pipeline_results",
    "processed_documents",
    "relationships",
    "user_annotations",
    "user_profiles",
    "user_progress",
    "users",
)
TYPES = (
    "complexity_level_enum",
    "feedback_type_enum",
    "learning_style_enum",
    "processing_status_enum",
    "user_role",
)
# Every function the login owned; record_audit() and the consensus functions
# have owners of their own.
FUNCTIONS = (
    "check_claim_arguments(text,text,integer)",
    "check_pipeline_result_shape(jsonb,jsonb)",
    "claim_document(uuid,text,text,integer)",
    "claim_next_document(text,text,integer)",
    "complete_document_from_cache(uuid,uuid)",
    "cosine_similarity(vector,vector)",
    "current_learner_id()",
    "enforce_document_status_transition()",
    "find_duplicate_document(uuid,text)",
    "find_similar_documents(vector,integer,double precision)",
    "find_similar_keywords(vector,integer,double precision,uuid)",
    "generate_cache_key(text,text)",
    "get_course_stats(uuid)",
    "get_feedback_summary(uuid)",
    "get_learner_streak(uuid)",
    "get_learning_statistics(uuid)",
    "get_pending_consensus(integer)",
    "get_user_progress_summary(uuid,uuid)",
    "inherit_owner_from_chapter()",
    "inherit_owner_from_course()",
    "inherit_owner_from_document()",
    "inherit_owner_from_processed_document()",
    "materialize_pipeline_result(uuid,text)",
    "propagate_owner_to_chapter_contents()",
    "propagate_owner_to_chapters()",
    "propagate_owner_to_documents()",
    "propagate_owner_to_processed_document()",
    "record_pipeline_result(uuid,uuid,jsonb,jsonb,text,vector)",
    "record_processing_failure(uuid,uuid,text)",
    "reject_audit_log_change()",
    "require_document_claim(uuid,uuid)",
    "search_courses(uuid,text,integer)",
    "search_keywords(text,uuid,integer)",
    "set_chapter_completed_at()",
    "set_current_user_id(uuid)",
    "stamp_annotation_cache_key()",
    "update_updated_at_column()",
    "update_user_streak()",
    "validate_user_interests()",
)


def _hand_over(owner: str) -> None:
    for table in LOCK_TABLES:
        op.execute(f"ALTER TABLE public.{table} OWNER TO {owner}")
    for type_name in TYPES:
        op.execute(f"ALTER TYPE public.{type_name} OWNER TO {owner}")
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION public.{function} OWNER TO {owner}")


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    # The role that runs every later revision's DDL creates in this schema.
    op.execute("GRANT CREATE ON SCHEMA public TO sensa_schema_owner")
    _hand_over("sensa_schema_owner")


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    _hand_over("CURRENT_USER")
    op.execute("REVOKE CREATE ON SCHEMA public FROM sensa_schema_owner")
