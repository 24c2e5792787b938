"""pipeline writes through its protocol

The worker's login could write document_claims, a document's status and the
concept-map tables directly. With those rights it could complete a document
with two UPDATEs and no claim, rewrite a claim's cache_key, call
materialize_pipeline_result() to fill a learner's document with another PDF's
content, move a learner's chapters or keywords under another learner's
processed document (the owner is restamped, and the other learner reads
them), and relate two learners' keywords.

Now the worker reads documents, claims and results, and changes things only
through the protocol: claim_document(), claim_next_document(),
complete_document_from_cache(), record_pipeline_result() and
record_processing_failure() become SECURITY DEFINER, owned by sensa_pipeline
(a NOLOGIN role holding exactly the writes the protocol makes), with pg_temp
last on their path. Their helpers run as sensa_pipeline inside them and are
no longer executable by the worker. sensa_pipeline's policies open only while
it is the effective user, as sensa_consensus's do. A trigger refuses a
relationship between keywords of two owners, whoever writes it.

Runs as the migrating login: a function's new owner needs CREATE on the
schema while it is handed over, which only the schema's owner (the database
owner) can grant. The policies, grants and trigger are then made as
sensa_schema_owner. Policies take an ACCESS EXCLUSIVE lock on their table for
a catalog update; those tables are locked first (LOCK_TABLES).

Revision ID: d71f7a420804
Revises: 05dfeae63356
Create Date: 2026-12-07 17:37:54.476708+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "d71f7a420804"
down_revision: str | Sequence[str] | None = "05dfeae63356"
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
    "course_documents",
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
    "pipeline_results",
    "document_claims",
)
RESULT_TABLES = (
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
)
STATUS_COLUMNS = "processing_status, task_id, error_message, processed_at"

# What the worker calls.
ENTRY_POINTS = (
    "public.claim_document(uuid,text,text,integer)",
    "public.claim_next_document(text,text,integer)",
    "public.complete_document_from_cache(uuid,uuid)",
    "public.record_pipeline_result(uuid,uuid,jsonb,jsonb,text,vector)",
    "public.record_processing_failure(uuid,uuid,text)",
)
# What those call, as sensa_pipeline.
HELPERS = (
    "public.check_claim_arguments(text,text,integer)",
    "public.require_document_claim(uuid,uuid)",
    "public.check_pipeline_result_shape(jsonb,jsonb)",
    "public.materialize_pipeline_result(uuid,text)",
)

NEW_POLICIES = (
    """
CREATE POLICY pipeline_processed_documents_read ON public.processed_documents
    AS PERMISSIVE FOR SELECT TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY pipeline_processed_documents_insert ON public.processed_documents
    AS PERMISSIVE FOR INSERT TO sensa_pipeline
    WITH CHECK (
        current_user = 'sensa_pipeline'
        AND EXISTS (
            SELECT FROM public.course_documents d
            WHERE d.document_id = processed_documents.document_id
                AND d.course_id = processed_documents.course_id
        )
    )
""",
    """
CREATE POLICY pipeline_processed_documents_delete ON public.processed_documents
    AS PERMISSIVE FOR DELETE TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY pipeline_chapters_access ON public.chapters
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY pipeline_keywords_access ON public.keywords
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY pipeline_relationships_access ON public.relationships
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY pipeline_chapter_complexity_access ON public.chapter_complexity
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY pipeline_course_documents_read ON public.course_documents
    AS PERMISSIVE FOR SELECT TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY pipeline_course_documents_update ON public.course_documents
    AS PERMISSIVE FOR UPDATE TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline')
""",
    """
CREATE POLICY worker_chapters_read ON public.chapters
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true)
""",
    """
CREATE POLICY worker_keywords_read ON public.keywords
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true)
""",
    """
CREATE POLICY worker_relationships_read ON public.relationships
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true)
""",
    """
CREATE POLICY worker_chapter_complexity_read ON public.chapter_complexity
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true)
""",
)
NEW_POLICY_NAMES = (
    "pipeline_processed_documents_read ON public.processed_documents",
    "pipeline_processed_documents_insert ON public.processed_documents",
    "pipeline_processed_documents_delete ON public.processed_documents",
    "pipeline_chapters_access ON public.chapters",
    "pipeline_keywords_access ON public.keywords",
    "pipeline_relationships_access ON public.relationships",
    "pipeline_chapter_complexity_access ON public.chapter_complexity",
    "pipeline_course_documents_read ON public.course_documents",
    "pipeline_course_documents_update ON public.course_documents",
    "worker_chapters_read ON public.chapters",
    "worker_keywords_read ON public.keywords",
    "worker_relationships_read ON public.relationships",
    "worker_chapter_complexity_read ON public.chapter_complexity",
)
OLD_POLICIES = (
    """
CREATE POLICY worker_processed_documents_insert ON public.processed_documents
    AS PERMISSIVE FOR INSERT TO sensa_worker
    WITH CHECK (
        EXISTS (
            SELECT FROM public.course_documents d
            WHERE d.document_id = processed_documents.document_id
                AND d.course_id = processed_documents.course_id
        )
    )
""",
    """
CREATE POLICY worker_processed_documents_update ON public.processed_documents
    AS PERMISSIVE FOR UPDATE TO sensa_worker
    USING (true)
    WITH CHECK (
        EXISTS (
            SELECT FROM public.course_documents d
            WHERE d.document_id = processed_documents.document_id
                AND d.course_id = processed_documents.course_id
        )
    )
""",
    """
CREATE POLICY worker_processed_documents_delete ON public.processed_documents
    AS PERMISSIVE FOR DELETE TO sensa_worker
    USING (true)
""",
    """
CREATE POLICY worker_chapters_access ON public.chapters
    AS PERMISSIVE FOR ALL TO sensa_worker
    USING (true)
    WITH CHECK (true)
""",
    """
CREATE POLICY worker_keywords_access ON public.keywords
    AS PERMISSIVE FOR ALL TO sensa_worker
    USING (true)
    WITH CHECK (true)
""",
    """
CREATE POLICY worker_relationships_access ON public.relationships
    AS PERMISSIVE FOR ALL TO sensa_worker
    USING (true)
    WITH CHECK (true)
""",
    """
CREATE POLICY worker_chapter_complexity_access ON public.chapter_complexity
    AS PERMISSIVE FOR ALL TO sensa_worker
    USING (true)
    WITH CHECK (true)
""",
    """
CREATE POLICY worker_course_documents_update ON public.course_documents
    AS PERMISSIVE FOR UPDATE TO sensa_worker
    USING (true)
    WITH CHECK (true)
""",
)
OLD_POLICY_NAMES = (
    "worker_processed_documents_insert ON public.processed_documents",
    "worker_processed_documents_update ON public.processed_documents",
    "worker_processed_documents_delete ON public.processed_documents",
    "worker_chapters_access ON public.chapters",
    "worker_keywords_access ON public.keywords",
    "worker_relationships_access ON public.relationships",
    "worker_chapter_complexity_access ON public.chapter_complexity",
    "worker_course_documents_update ON public.course_documents",
)

CHECK_RELATIONSHIP_KEYWORDS_OWNER = """
CREATE OR REPLACE FUNCTION public.check_relationship_keywords_owner()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF EXISTS (
        SELECT FROM public.keywords k
        WHERE k.keyword_id IN (NEW.source_keyword_id, NEW.target_keyword_id)
            AND k.user_id IS DISTINCT FROM NEW.user_id
    ) THEN
        RAISE EXCEPTION 'relationship % joins keywords of another owner (rule relationship_keywords_one_owner)',
            NEW.relationship_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'relationship_keywords_one_owner',
                  TABLE = 'relationships';
    END IF;
    RETURN NEW;
END;
$$
"""
RELATIONSHIP_KEYWORDS_ONE_OWNER = """
CREATE TRIGGER relationship_keywords_one_owner
    BEFORE INSERT OR UPDATE OF source_keyword_id, target_keyword_id, chapter_id
    ON public.relationships
    FOR EACH ROW
    EXECUTE FUNCTION public.check_relationship_keywords_owner()
"""


def _set_entry_points(security: str, search_path: str) -> None:
    for function in ENTRY_POINTS:
        op.execute(f"ALTER FUNCTION {function} {security} SET search_path = {search_path}")


def _hand_functions_to(owner: str) -> None:
    for function in ENTRY_POINTS + HELPERS:
        op.execute(f"ALTER FUNCTION {function} OWNER TO {owner}")


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    _set_entry_points("SECURITY DEFINER", "pg_catalog, pg_temp")
    # A new owner needs CREATE on the schema, at this moment only.
    op.execute("GRANT CREATE ON SCHEMA public TO sensa_pipeline")
    _hand_functions_to("sensa_pipeline")
    op.execute("REVOKE CREATE ON SCHEMA public FROM sensa_pipeline")
    op.execute("SET LOCAL ROLE sensa_schema_owner")
    for function in HELPERS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM sensa_worker")

    op.execute(
        f"GRANT SELECT, UPDATE ({STATUS_COLUMNS}) ON public.course_documents TO sensa_pipeline"
    )
    for table in RESULT_TABLES:
        op.execute(f"GRANT SELECT, INSERT, DELETE ON public.{table} TO sensa_pipeline")
        op.execute(f"REVOKE INSERT, UPDATE, DELETE ON public.{table} FROM sensa_worker")
    op.execute("GRANT SELECT, INSERT ON public.pipeline_results TO sensa_pipeline")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON public.document_claims TO sensa_pipeline")
    op.execute(f"REVOKE UPDATE ({STATUS_COLUMNS}) ON public.course_documents FROM sensa_worker")
    op.execute("REVOKE INSERT ON public.pipeline_results FROM sensa_worker")
    op.execute("REVOKE INSERT, UPDATE, DELETE ON public.document_claims FROM sensa_worker")

    for name in OLD_POLICY_NAMES:
        op.execute(f"DROP POLICY IF EXISTS {name}")
    for policy in NEW_POLICIES:
        op.execute(policy)
    op.execute(CHECK_RELATIONSHIP_KEYWORDS_OWNER)
    op.execute(RELATIONSHIP_KEYWORDS_ONE_OWNER)


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute("SET LOCAL ROLE sensa_schema_owner")
    op.execute("DROP TRIGGER relationship_keywords_one_owner ON public.relationships")
    op.execute("DROP FUNCTION public.check_relationship_keywords_owner()")
    for name in NEW_POLICY_NAMES:
        op.execute(f"DROP POLICY {name}")
    for policy in OLD_POLICIES:
        op.execute(policy)

    op.execute("GRANT INSERT, UPDATE, DELETE ON public.document_claims TO sensa_worker")
    op.execute("GRANT INSERT ON public.pipeline_results TO sensa_worker")
    op.execute(f"GRANT UPDATE ({STATUS_COLUMNS}) ON public.course_documents TO sensa_worker")
    for table in RESULT_TABLES:
        op.execute(f"GRANT INSERT, UPDATE, DELETE ON public.{table} TO sensa_worker")
        op.execute(f"REVOKE ALL ON public.{table} FROM sensa_pipeline")
    op.execute("REVOKE ALL ON public.pipeline_results, public.document_claims FROM sensa_pipeline")
    op.execute("REVOKE ALL ON public.course_documents FROM sensa_pipeline")
    for function in HELPERS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO sensa_worker")
    _hand_functions_to("sensa_schema_owner")
    _set_entry_points("SECURITY INVOKER", "pg_catalog, public, pg_temp")
