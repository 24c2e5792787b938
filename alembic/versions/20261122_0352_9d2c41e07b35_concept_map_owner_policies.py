"""concept-map owner, policies: every learner policy below courses is user_id = the request context

The learner policies of course_documents, processed_documents, chapters,
keywords, relationships and chapter_complexity compare the row's stamped owner
with the request context, as those of courses do, instead of rebuilding the
learner's visible parents one table at a time. Who may see and write what does
not change: the owner is the one the chain ended at, and it is derived by
trigger, never supplied (revision 4b7e0c2a9f13). A relationship must still
join two of the learner's own keywords (EXISTS, an index probe each, in place
of the learner's whole set of keywords). The worker's and admin_role's
policies are untouched.

Benchmark, default size, as the app (p95, before -> after): README.md.

Revision ID: 9d2c41e07b35
Revises: c35e9f1b8d40
Create Date: 2026-11-22 03:49:46.011508+00:00

"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from alembic_utils.pg_policy import PGPolicy
from sqlalchemy import text as sql_text

revision: str = "9d2c41e07b35"
down_revision: str | Sequence[str] | None = "c35e9f1b8d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    public_processed_documents_processed_document_isolation_select = PGPolicy(
        schema="public",
        signature="processed_document_isolation_select",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n    )",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_select)

    public_processed_documents_processed_document_isolation_insert = PGPolicy(
        schema="public",
        signature="processed_document_isolation_insert",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n    )",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_insert)

    public_processed_documents_processed_document_isolation_update = PGPolicy(
        schema="public",
        signature="processed_document_isolation_update",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n    )\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n    )",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_update)

    public_processed_documents_processed_document_isolation_delete = PGPolicy(
        schema="public",
        signature="processed_document_isolation_delete",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n    )",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_delete)

    public_chapters_chapter_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_isolation_select",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapters_chapter_isolation_select)

    public_chapters_chapter_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_isolation_insert",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapters_chapter_isolation_insert)

    public_chapters_chapter_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_isolation_update",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapters_chapter_isolation_update)

    public_chapters_chapter_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_isolation_delete",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapters_chapter_isolation_delete)

    public_keywords_keyword_isolation_select = PGPolicy(
        schema="public",
        signature="keyword_isolation_select",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_keywords_keyword_isolation_select)

    public_keywords_keyword_isolation_insert = PGPolicy(
        schema="public",
        signature="keyword_isolation_insert",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_keywords_keyword_isolation_insert)

    public_keywords_keyword_isolation_update = PGPolicy(
        schema="public",
        signature="keyword_isolation_update",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_keywords_keyword_isolation_update)

    public_keywords_keyword_isolation_delete = PGPolicy(
        schema="public",
        signature="keyword_isolation_delete",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_keywords_keyword_isolation_delete)

    public_relationships_relationship_isolation_select = PGPolicy(
        schema="public",
        signature="relationship_isolation_select",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_relationships_relationship_isolation_select)

    public_relationships_relationship_isolation_insert = PGPolicy(
        schema="public",
        signature="relationship_isolation_insert",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.source_keyword_id)\n        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.target_keyword_id)\n    )",
    )
    op.replace_entity(public_relationships_relationship_isolation_insert)

    public_relationships_relationship_isolation_update = PGPolicy(
        schema="public",
        signature="relationship_isolation_update",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.source_keyword_id)\n        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.target_keyword_id)\n    )",
    )
    op.replace_entity(public_relationships_relationship_isolation_update)

    public_relationships_relationship_isolation_delete = PGPolicy(
        schema="public",
        signature="relationship_isolation_delete",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_relationships_relationship_isolation_delete)

    public_chapter_complexity_chapter_complexity_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_select",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_select)

    public_chapter_complexity_chapter_complexity_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_insert",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_insert)

    public_chapter_complexity_chapter_complexity_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_update",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_update)

    public_chapter_complexity_chapter_complexity_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_delete",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_delete)

    public_course_documents_document_isolation_select = PGPolicy(
        schema="public",
        signature="document_isolation_select",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_course_documents_document_isolation_select)

    public_course_documents_document_isolation_insert = PGPolicy(
        schema="public",
        signature="document_isolation_insert",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_course_documents_document_isolation_insert)

    public_course_documents_document_isolation_update = PGPolicy(
        schema="public",
        signature="document_isolation_update",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_course_documents_document_isolation_update)

    public_course_documents_document_isolation_delete = PGPolicy(
        schema="public",
        signature="document_isolation_delete",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.replace_entity(public_course_documents_document_isolation_delete)


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    public_course_documents_document_isolation_delete = PGPolicy(
        schema="public",
        signature="document_isolation_delete",
        on_entity="public.course_documents",
        definition="as PERMISSIVE for DELETE to sensa_app using (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c)))",
    )
    op.replace_entity(public_course_documents_document_isolation_delete)
    public_course_documents_document_isolation_update = PGPolicy(
        schema="public",
        signature="document_isolation_update",
        on_entity="public.course_documents",
        definition="as PERMISSIVE for UPDATE to sensa_app using (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c))) with check (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c)))",
    )
    op.replace_entity(public_course_documents_document_isolation_update)
    public_course_documents_document_isolation_insert = PGPolicy(
        schema="public",
        signature="document_isolation_insert",
        on_entity="public.course_documents",
        definition="as PERMISSIVE for INSERT to sensa_app with check (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c)))",
    )
    op.replace_entity(public_course_documents_document_isolation_insert)
    public_course_documents_document_isolation_select = PGPolicy(
        schema="public",
        signature="document_isolation_select",
        on_entity="public.course_documents",
        definition="as PERMISSIVE for SELECT to sensa_app using (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c)))",
    )
    op.replace_entity(public_course_documents_document_isolation_select)
    public_chapter_complexity_chapter_complexity_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_delete",
        on_entity="public.chapter_complexity",
        definition="as PERMISSIVE for DELETE to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_delete)
    public_chapter_complexity_chapter_complexity_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_update",
        on_entity="public.chapter_complexity",
        definition="as PERMISSIVE for UPDATE to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch))) with check (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_update)
    public_chapter_complexity_chapter_complexity_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_insert",
        on_entity="public.chapter_complexity",
        definition="as PERMISSIVE for INSERT to sensa_app with check (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_insert)
    public_chapter_complexity_chapter_complexity_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_select",
        on_entity="public.chapter_complexity",
        definition="as PERMISSIVE for SELECT to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_chapter_complexity_chapter_complexity_isolation_select)
    public_relationships_relationship_isolation_delete = PGPolicy(
        schema="public",
        signature="relationship_isolation_delete",
        on_entity="public.relationships",
        definition="as PERMISSIVE for DELETE to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_relationships_relationship_isolation_delete)
    public_relationships_relationship_isolation_update = PGPolicy(
        schema="public",
        signature="relationship_isolation_update",
        on_entity="public.relationships",
        definition="as PERMISSIVE for UPDATE to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch))) with check ((chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch))) AND (source_keyword_id = ANY (ARRAY( SELECT k.keyword_id\n   FROM keywords k))) AND (target_keyword_id = ANY (ARRAY( SELECT k.keyword_id\n   FROM keywords k))))",
    )
    op.replace_entity(public_relationships_relationship_isolation_update)
    public_relationships_relationship_isolation_insert = PGPolicy(
        schema="public",
        signature="relationship_isolation_insert",
        on_entity="public.relationships",
        definition="as PERMISSIVE for INSERT to sensa_app with check ((chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch))) AND (source_keyword_id = ANY (ARRAY( SELECT k.keyword_id\n   FROM keywords k))) AND (target_keyword_id = ANY (ARRAY( SELECT k.keyword_id\n   FROM keywords k))))",
    )
    op.replace_entity(public_relationships_relationship_isolation_insert)
    public_relationships_relationship_isolation_select = PGPolicy(
        schema="public",
        signature="relationship_isolation_select",
        on_entity="public.relationships",
        definition="as PERMISSIVE for SELECT to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_relationships_relationship_isolation_select)
    public_keywords_keyword_isolation_delete = PGPolicy(
        schema="public",
        signature="keyword_isolation_delete",
        on_entity="public.keywords",
        definition="as PERMISSIVE for DELETE to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_keywords_keyword_isolation_delete)
    public_keywords_keyword_isolation_update = PGPolicy(
        schema="public",
        signature="keyword_isolation_update",
        on_entity="public.keywords",
        definition="as PERMISSIVE for UPDATE to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch))) with check (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_keywords_keyword_isolation_update)
    public_keywords_keyword_isolation_insert = PGPolicy(
        schema="public",
        signature="keyword_isolation_insert",
        on_entity="public.keywords",
        definition="as PERMISSIVE for INSERT to sensa_app with check (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_keywords_keyword_isolation_insert)
    public_keywords_keyword_isolation_select = PGPolicy(
        schema="public",
        signature="keyword_isolation_select",
        on_entity="public.keywords",
        definition="as PERMISSIVE for SELECT to sensa_app using (chapter_id = ANY (ARRAY( SELECT ch.chapter_id\n   FROM chapters ch)))",
    )
    op.replace_entity(public_keywords_keyword_isolation_select)
    public_chapters_chapter_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_isolation_delete",
        on_entity="public.chapters",
        definition="as PERMISSIVE for DELETE to sensa_app using (processed_id = ANY (ARRAY( SELECT pd.processed_id\n   FROM processed_documents pd)))",
    )
    op.replace_entity(public_chapters_chapter_isolation_delete)
    public_chapters_chapter_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_isolation_update",
        on_entity="public.chapters",
        definition="as PERMISSIVE for UPDATE to sensa_app using (processed_id = ANY (ARRAY( SELECT pd.processed_id\n   FROM processed_documents pd))) with check (processed_id = ANY (ARRAY( SELECT pd.processed_id\n   FROM processed_documents pd)))",
    )
    op.replace_entity(public_chapters_chapter_isolation_update)
    public_chapters_chapter_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_isolation_insert",
        on_entity="public.chapters",
        definition="as PERMISSIVE for INSERT to sensa_app with check (processed_id = ANY (ARRAY( SELECT pd.processed_id\n   FROM processed_documents pd)))",
    )
    op.replace_entity(public_chapters_chapter_isolation_insert)
    public_chapters_chapter_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_isolation_select",
        on_entity="public.chapters",
        definition="as PERMISSIVE for SELECT to sensa_app using (processed_id = ANY (ARRAY( SELECT pd.processed_id\n   FROM processed_documents pd)))",
    )
    op.replace_entity(public_chapters_chapter_isolation_select)
    public_processed_documents_processed_document_isolation_delete = PGPolicy(
        schema="public",
        signature="processed_document_isolation_delete",
        on_entity="public.processed_documents",
        definition="as PERMISSIVE for DELETE to sensa_app using ((document_id = ANY (ARRAY( SELECT d.document_id\n   FROM course_documents d))) AND (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c))))",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_delete)
    public_processed_documents_processed_document_isolation_update = PGPolicy(
        schema="public",
        signature="processed_document_isolation_update",
        on_entity="public.processed_documents",
        definition="as PERMISSIVE for UPDATE to sensa_app using ((document_id = ANY (ARRAY( SELECT d.document_id\n   FROM course_documents d))) AND (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c)))) with check (EXISTS ( SELECT\n   FROM course_documents d\n  WHERE ((d.document_id = processed_documents.document_id) AND (d.course_id = processed_documents.course_id))))",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_update)
    public_processed_documents_processed_document_isolation_insert = PGPolicy(
        schema="public",
        signature="processed_document_isolation_insert",
        on_entity="public.processed_documents",
        definition="as PERMISSIVE for INSERT to sensa_app with check (EXISTS ( SELECT\n   FROM course_documents d\n  WHERE ((d.document_id = processed_documents.document_id) AND (d.course_id = processed_documents.course_id))))",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_insert)
    public_processed_documents_processed_document_isolation_select = PGPolicy(
        schema="public",
        signature="processed_document_isolation_select",
        on_entity="public.processed_documents",
        definition="as PERMISSIVE for SELECT to sensa_app using ((document_id = ANY (ARRAY( SELECT d.document_id\n   FROM course_documents d))) AND (course_id = ANY (ARRAY( SELECT c.course_id\n   FROM courses c))))",
    )
    op.replace_entity(public_processed_documents_processed_document_isolation_select)
