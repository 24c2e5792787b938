"""definers pin pg_temp last

An empty search_path does not leave the session's temporary schema out:
PostgreSQL searches pg_temp first, before pg_catalog, for relation and type
names unless the path lists it. A login that could create a temporary domain
named uuid, with a CHECK calling its own function, had that function run as
the owner of record_audit() or of the consensus functions on its next audited
write. Every function of the schema now pins its path with pg_temp written
last (the invoker ones too: a trigger or helper called from inside a definer
runs with the definer's identity). Temporary objects are also taken away:
TEMPORARY on the database is revoked from PUBLIC, which the database owner may
do on RDS, and granted to admin_role alone, whose bulk loads stage rows in
temporary tables (COPY cannot write a table under row-level security).

record_audit() moves to sensa_audit_writer, a NOLOGIN role whose only right is
to append to audit_log: until now it ran as the migrating login, which can
create roles. Roles are created when missing and never dropped (they are
cluster-wide); sensa_schema_owner (made the owner of the schema's objects by
the next revision) is made a member of every definer's owner, so that a
revision running as it may replace their functions.

No table is locked: ALTER FUNCTION and the grants change catalog rows only.

Revision ID: 0c13d19e46ac
Revises: a0b90923c32f
Create Date: 2026-12-07 17:34:49.393169+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0c13d19e46ac"
down_revision: str | Sequence[str] | None = "a0b90923c32f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"

# Functions that ran as their caller with search_path "pg_catalog, public".
INVOKERS = (
    "public.check_claim_arguments(text,text,integer)",
    "public.check_pipeline_result_shape(jsonb,jsonb)",
    "public.claim_document(uuid,text,text,integer)",
    "public.claim_next_document(text,text,integer)",
    "public.complete_document_from_cache(uuid,uuid)",
    "public.cosine_similarity(vector,vector)",
    "public.enforce_document_status_transition()",
    "public.find_duplicate_document(uuid,text)",
    "public.find_similar_documents(vector,integer,double precision)",
    "public.find_similar_keywords(vector,integer,double precision,uuid)",
    "public.generate_cache_key(text,text)",
    "public.get_course_stats(uuid)",
    "public.get_feedback_summary(uuid)",
    "public.get_learner_streak(uuid)",
    "public.get_learning_statistics(uuid)",
    "public.get_pending_consensus(integer)",
    "public.get_user_progress_summary(uuid,uuid)",
    "public.inherit_owner_from_chapter()",
    "public.inherit_owner_from_course()",
    "public.inherit_owner_from_document()",
    "public.inherit_owner_from_processed_document()",
    "public.materialize_pipeline_result(uuid,text)",
    "public.propagate_owner_to_chapter_contents()",
    "public.propagate_owner_to_chapters()",
    "public.propagate_owner_to_documents()",
    "public.propagate_owner_to_processed_document()",
    "public.record_pipeline_result(uuid,uuid,jsonb,jsonb,text,vector)",
    "public.record_processing_failure(uuid,uuid,text)",
    "public.reject_audit_log_change()",
    "public.require_document_claim(uuid,uuid)",
    "public.search_courses(uuid,text,integer)",
    "public.search_keywords(text,uuid,integer)",
    "public.set_chapter_completed_at()",
    "public.stamp_annotation_cache_key()",
    "public.update_updated_at_column()",
    "public.update_user_streak()",
    "public.validate_user_interests()",
)
# The three definers and the two context functions, whose path was empty and
# whose every name is qualified.
EMPTY_PATH_FUNCTIONS = (
    "public.record_audit()",
    "public.check_feedback_consensus()",
    "public.get_content_consensus(integer)",
    "public.current_learner_id()",
    "public.set_current_user_id(uuid)",
)

CREATE_ROLES = """
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['sensa_schema_owner', 'sensa_audit_writer', 'sensa_pipeline']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
END
$$
"""

# The database's name differs between environments; the statement does not.
REVOKE_TEMPORARY = """
DO $$
BEGIN
    EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO admin_role', current_database());
END
$$
"""
GRANT_TEMPORARY = """
DO $$
BEGIN
    EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM admin_role', current_database());
    EXECUTE pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
END
$$
"""


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(CREATE_ROLES)
    op.execute("GRANT sensa_audit_writer, sensa_pipeline, sensa_consensus TO sensa_schema_owner")
    op.execute("GRANT sensa_schema_owner TO CURRENT_USER")
    op.execute(REVOKE_TEMPORARY)
    for function in INVOKERS:
        op.execute(f"ALTER FUNCTION {function} SET search_path = pg_catalog, public, pg_temp")
    for function in EMPTY_PATH_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET search_path = pg_catalog, pg_temp")
    op.execute("GRANT INSERT ON public.audit_log TO sensa_audit_writer")
    # A new owner needs CREATE on the schema, at this moment only.
    op.execute("GRANT CREATE ON SCHEMA public TO sensa_audit_writer")
    op.execute("ALTER FUNCTION public.record_audit() OWNER TO sensa_audit_writer")
    op.execute("REVOKE CREATE ON SCHEMA public FROM sensa_audit_writer")


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute("ALTER FUNCTION public.record_audit() OWNER TO CURRENT_USER")
    op.execute("REVOKE INSERT ON public.audit_log FROM sensa_audit_writer")
    for function in EMPTY_PATH_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET search_path = ''")
    for function in INVOKERS:
        op.execute(f"ALTER FUNCTION {function} SET search_path = pg_catalog, public")
    op.execute(GRANT_TEMPORARY)
