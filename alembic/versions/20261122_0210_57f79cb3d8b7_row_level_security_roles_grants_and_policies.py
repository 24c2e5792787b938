"""row-level security: roles, grants, the request context and per-command policies

Roles. admin_role (the design's admin bypass, as policies), sensa_app (the
API) and sensa_worker (the document pipeline) are NOLOGIN group roles: login
users are made members (GRANT sensa_app TO api_login). None is superuser or
BYPASSRLS, and the revision refuses to run if one already exists with either
attribute. Roles are cluster-wide and shared by every database on the cluster,
so they are created only if missing (a concurrent creator's duplicate is
ignored), and the downgrade does NOT drop them: it revokes what this revision
granted in this database and drops its policies, leaving other databases that
use the roles untouched. Creating roles needs CREATEROLE, nothing more: this
runs as a non-superuser owner, as on RDS.

Grants are explicit, table by table, rather than ALTER DEFAULT PRIVILEGES:
each revision that adds a table states who may use it, in the diff a reviewer
reads, and a table nobody granted stays out of reach (fail closed) instead of
becoming readable by the API as a side effect of being created.
sensa_db/security.py declares the grants this must add up to and the tests
compare the catalog with it. PUBLIC loses CREATE on schema public (already
the default since PostgreSQL 15; kept on downgrade, as it only closes a hole).

Row-level security is ENABLEd and FORCEd on the design's five tables and on
every other table holding a learner's data; FORCE subjects the tables' owner
(the migrating role) to the policies too, so it cannot bypass them by
accident. The policies and set_current_user_id() are declared in
sensa_db/policies/*.sql and sensa_db/functions/request_context.sql, which say
what each guards.

Revision ID: 57f79cb3d8b7
Revises: f0887d54cde3
Create Date: 2026-11-22 02:10:04.344060+00:00

"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_policy import PGPolicy
from sqlalchemy import text as sql_text

revision: str = "57f79cb3d8b7"
down_revision: str | Sequence[str] | None = "f0887d54cde3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ROLES = ("admin_role", "sensa_app", "sensa_worker")
RLS_TABLES = (
    "users",
    "user_profiles",
    "courses",
    "user_annotations",
    "user_progress",
    "analogy_feedback",
    "course_documents",
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
)
WORKER_RESULT_TABLES = (
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
)

CREATE_ROLES = """
DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['admin_role', 'sensa_app', 'sensa_worker'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format(
                    'CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
                    ' NOREPLICATION NOBYPASSRLS',
                    role_name
                );
            EXCEPTION
                -- Another database's migration created it between our check
                -- and our CREATE: the role exists, which is all we need.
                WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
        IF EXISTS (
            SELECT FROM pg_catalog.pg_roles
            WHERE rolname = role_name AND (rolsuper OR rolbypassrls)
        ) THEN
            RAISE EXCEPTION 'role % exists with SUPERUSER or BYPASSRLS: row-level security would not apply to it', role_name
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
END
$roles$
"""

GRANTS = (
    # The API: every learner table, rows narrowed by the policies.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON "
    + ", ".join(t for t in RLS_TABLES if t != "users")
    + " TO sensa_app",
    # users.role stays admin_role's: a learner must not promote themselves.
    "GRANT SELECT, DELETE ON users TO sensa_app",
    "GRANT INSERT (user_id, cognito_sub, email, email_verified, last_login_at, is_active)"
    " ON users TO sensa_app",
    "GRANT UPDATE (email, email_verified, last_login_at, is_active) ON users TO sensa_app",
    # The pipeline: documents to fetch and report on, and the results it writes.
    "GRANT SELECT ON course_documents TO sensa_worker",
    "GRANT UPDATE (processing_status, task_id, error_message, processed_at)"
    " ON course_documents TO sensa_worker",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON "
    + ", ".join(WORKER_RESULT_TABLES)
    + " TO sensa_worker",
    # Staff: every learner table, and the schema history read-only.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON " + ", ".join(RLS_TABLES) + " TO admin_role",
    "GRANT SELECT ON migrations_log TO admin_role",
    # Setting the context is the API's; the other roles never act for a learner.
    "REVOKE EXECUTE ON FUNCTION public.set_current_user_id(uuid) FROM PUBLIC",
    "GRANT EXECUTE ON FUNCTION public.set_current_user_id(uuid) TO sensa_app",
)


def upgrade() -> None:
    op.execute(CREATE_ROLES)
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute("GRANT USAGE ON SCHEMA public TO " + ", ".join(ROLES))
    public_set_current_user_id = PGFunction(
        schema="public",
        signature="set_current_user_id(p_user_id uuid)",
        definition="returns void\nLANGUAGE sql\nVOLATILE\nSECURITY INVOKER\nSET search_path = ''\nAS $$\n    SELECT pg_catalog.set_config('app.current_user_id', coalesce(p_user_id::text, ''), true);\n$$",
    )
    op.create_entity(public_set_current_user_id)

    public_users_user_isolation_select = PGPolicy(
        schema="public",
        signature="user_isolation_select",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_users_user_isolation_select)

    public_users_user_isolation_insert = PGPolicy(
        schema="public",
        signature="user_isolation_insert",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_users_user_isolation_insert)

    public_users_user_isolation_update = PGPolicy(
        schema="public",
        signature="user_isolation_update",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_users_user_isolation_update)

    public_users_user_isolation_delete = PGPolicy(
        schema="public",
        signature="user_isolation_delete",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_users_user_isolation_delete)

    public_users_admin_users_access = PGPolicy(
        schema="public",
        signature="admin_users_access",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_users_admin_users_access)

    public_user_profiles_user_profile_isolation_select = PGPolicy(
        schema="public",
        signature="user_profile_isolation_select",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_profiles_user_profile_isolation_select)

    public_user_profiles_user_profile_isolation_insert = PGPolicy(
        schema="public",
        signature="user_profile_isolation_insert",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_profiles_user_profile_isolation_insert)

    public_user_profiles_user_profile_isolation_update = PGPolicy(
        schema="public",
        signature="user_profile_isolation_update",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_profiles_user_profile_isolation_update)

    public_user_profiles_user_profile_isolation_delete = PGPolicy(
        schema="public",
        signature="user_profile_isolation_delete",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_profiles_user_profile_isolation_delete)

    public_user_profiles_admin_all_access = PGPolicy(
        schema="public",
        signature="admin_all_access",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_user_profiles_admin_all_access)

    public_processed_documents_processed_document_isolation_select = PGPolicy(
        schema="public",
        signature="processed_document_isolation_select",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (\n        document_id = ANY (ARRAY(SELECT d.document_id FROM public.course_documents d))\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.create_entity(public_processed_documents_processed_document_isolation_select)

    public_processed_documents_processed_document_isolation_insert = PGPolicy(
        schema="public",
        signature="processed_document_isolation_insert",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.create_entity(public_processed_documents_processed_document_isolation_insert)

    public_processed_documents_processed_document_isolation_update = PGPolicy(
        schema="public",
        signature="processed_document_isolation_update",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (\n        document_id = ANY (ARRAY(SELECT d.document_id FROM public.course_documents d))\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.create_entity(public_processed_documents_processed_document_isolation_update)

    public_processed_documents_processed_document_isolation_delete = PGPolicy(
        schema="public",
        signature="processed_document_isolation_delete",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (\n        document_id = ANY (ARRAY(SELECT d.document_id FROM public.course_documents d))\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.create_entity(public_processed_documents_processed_document_isolation_delete)

    public_processed_documents_admin_processed_documents_access = PGPolicy(
        schema="public",
        signature="admin_processed_documents_access",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_processed_documents_admin_processed_documents_access)

    public_processed_documents_worker_processed_documents_read = PGPolicy(
        schema="public",
        signature="worker_processed_documents_read",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_worker\n    USING (true)",
    )
    op.create_entity(public_processed_documents_worker_processed_documents_read)

    public_processed_documents_worker_processed_documents_insert = PGPolicy(
        schema="public",
        signature="worker_processed_documents_insert",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_worker\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.create_entity(public_processed_documents_worker_processed_documents_insert)

    public_processed_documents_worker_processed_documents_update = PGPolicy(
        schema="public",
        signature="worker_processed_documents_update",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_worker\n    USING (true)\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.create_entity(public_processed_documents_worker_processed_documents_update)

    public_processed_documents_worker_processed_documents_delete = PGPolicy(
        schema="public",
        signature="worker_processed_documents_delete",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_worker\n    USING (true)",
    )
    op.create_entity(public_processed_documents_worker_processed_documents_delete)

    public_chapters_chapter_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_isolation_select",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.create_entity(public_chapters_chapter_isolation_select)

    public_chapters_chapter_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_isolation_insert",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.create_entity(public_chapters_chapter_isolation_insert)

    public_chapters_chapter_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_isolation_update",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))\n    WITH CHECK (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.create_entity(public_chapters_chapter_isolation_update)

    public_chapters_chapter_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_isolation_delete",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.create_entity(public_chapters_chapter_isolation_delete)

    public_chapters_admin_chapters_access = PGPolicy(
        schema="public",
        signature="admin_chapters_access",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_chapters_admin_chapters_access)

    public_chapters_worker_chapters_access = PGPolicy(
        schema="public",
        signature="worker_chapters_access",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_chapters_worker_chapters_access)

    public_keywords_keyword_isolation_select = PGPolicy(
        schema="public",
        signature="keyword_isolation_select",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_keywords_keyword_isolation_select)

    public_keywords_keyword_isolation_insert = PGPolicy(
        schema="public",
        signature="keyword_isolation_insert",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_keywords_keyword_isolation_insert)

    public_keywords_keyword_isolation_update = PGPolicy(
        schema="public",
        signature="keyword_isolation_update",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_keywords_keyword_isolation_update)

    public_keywords_keyword_isolation_delete = PGPolicy(
        schema="public",
        signature="keyword_isolation_delete",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_keywords_keyword_isolation_delete)

    public_keywords_admin_keywords_access = PGPolicy(
        schema="public",
        signature="admin_keywords_access",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_keywords_admin_keywords_access)

    public_keywords_worker_keywords_access = PGPolicy(
        schema="public",
        signature="worker_keywords_access",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_keywords_worker_keywords_access)

    public_relationships_relationship_isolation_select = PGPolicy(
        schema="public",
        signature="relationship_isolation_select",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_relationships_relationship_isolation_select)

    public_relationships_relationship_isolation_insert = PGPolicy(
        schema="public",
        signature="relationship_isolation_insert",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n        AND source_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n        AND target_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n    )",
    )
    op.create_entity(public_relationships_relationship_isolation_insert)

    public_relationships_relationship_isolation_update = PGPolicy(
        schema="public",
        signature="relationship_isolation_update",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))\n    WITH CHECK (\n        chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n        AND source_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n        AND target_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n    )",
    )
    op.create_entity(public_relationships_relationship_isolation_update)

    public_relationships_relationship_isolation_delete = PGPolicy(
        schema="public",
        signature="relationship_isolation_delete",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_relationships_relationship_isolation_delete)

    public_relationships_admin_relationships_access = PGPolicy(
        schema="public",
        signature="admin_relationships_access",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_relationships_admin_relationships_access)

    public_relationships_worker_relationships_access = PGPolicy(
        schema="public",
        signature="worker_relationships_access",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_relationships_worker_relationships_access)

    public_chapter_complexity_chapter_complexity_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_select",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_chapter_complexity_chapter_complexity_isolation_select)

    public_chapter_complexity_chapter_complexity_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_insert",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_chapter_complexity_chapter_complexity_isolation_insert)

    public_chapter_complexity_chapter_complexity_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_update",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_chapter_complexity_chapter_complexity_isolation_update)

    public_chapter_complexity_chapter_complexity_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_delete",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.create_entity(public_chapter_complexity_chapter_complexity_isolation_delete)

    public_chapter_complexity_admin_chapter_complexity_access = PGPolicy(
        schema="public",
        signature="admin_chapter_complexity_access",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_chapter_complexity_admin_chapter_complexity_access)

    public_chapter_complexity_worker_chapter_complexity_access = PGPolicy(
        schema="public",
        signature="worker_chapter_complexity_access",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_chapter_complexity_worker_chapter_complexity_access)

    public_courses_course_isolation_select = PGPolicy(
        schema="public",
        signature="course_isolation_select",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_courses_course_isolation_select)

    public_courses_course_isolation_insert = PGPolicy(
        schema="public",
        signature="course_isolation_insert",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_courses_course_isolation_insert)

    public_courses_course_isolation_update = PGPolicy(
        schema="public",
        signature="course_isolation_update",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_courses_course_isolation_update)

    public_courses_course_isolation_delete = PGPolicy(
        schema="public",
        signature="course_isolation_delete",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_courses_course_isolation_delete)

    public_courses_admin_courses_access = PGPolicy(
        schema="public",
        signature="admin_courses_access",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_courses_admin_courses_access)

    public_course_documents_document_isolation_select = PGPolicy(
        schema="public",
        signature="document_isolation_select",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.create_entity(public_course_documents_document_isolation_select)

    public_course_documents_document_isolation_insert = PGPolicy(
        schema="public",
        signature="document_isolation_insert",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.create_entity(public_course_documents_document_isolation_insert)

    public_course_documents_document_isolation_update = PGPolicy(
        schema="public",
        signature="document_isolation_update",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))\n    WITH CHECK (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.create_entity(public_course_documents_document_isolation_update)

    public_course_documents_document_isolation_delete = PGPolicy(
        schema="public",
        signature="document_isolation_delete",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.create_entity(public_course_documents_document_isolation_delete)

    public_course_documents_admin_course_documents_access = PGPolicy(
        schema="public",
        signature="admin_course_documents_access",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_course_documents_admin_course_documents_access)

    public_course_documents_worker_course_documents_read = PGPolicy(
        schema="public",
        signature="worker_course_documents_read",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_worker\n    USING (true)",
    )
    op.create_entity(public_course_documents_worker_course_documents_read)

    public_course_documents_worker_course_documents_update = PGPolicy(
        schema="public",
        signature="worker_course_documents_update",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_course_documents_worker_course_documents_update)

    public_user_annotations_feedback_isolation_select = PGPolicy(
        schema="public",
        signature="feedback_isolation_select",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_annotations_feedback_isolation_select)

    public_user_annotations_feedback_isolation_insert = PGPolicy(
        schema="public",
        signature="feedback_isolation_insert",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.create_entity(public_user_annotations_feedback_isolation_insert)

    public_user_annotations_feedback_isolation_update = PGPolicy(
        schema="public",
        signature="feedback_isolation_update",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.create_entity(public_user_annotations_feedback_isolation_update)

    public_user_annotations_feedback_isolation_delete = PGPolicy(
        schema="public",
        signature="feedback_isolation_delete",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_annotations_feedback_isolation_delete)

    public_user_annotations_admin_user_annotations_access = PGPolicy(
        schema="public",
        signature="admin_user_annotations_access",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_user_annotations_admin_user_annotations_access)

    public_user_progress_progress_isolation_select = PGPolicy(
        schema="public",
        signature="progress_isolation_select",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_progress_progress_isolation_select)

    public_user_progress_progress_isolation_insert = PGPolicy(
        schema="public",
        signature="progress_isolation_insert",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.create_entity(public_user_progress_progress_isolation_insert)

    public_user_progress_progress_isolation_update = PGPolicy(
        schema="public",
        signature="progress_isolation_update",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.create_entity(public_user_progress_progress_isolation_update)

    public_user_progress_progress_isolation_delete = PGPolicy(
        schema="public",
        signature="progress_isolation_delete",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_user_progress_progress_isolation_delete)

    public_user_progress_admin_user_progress_access = PGPolicy(
        schema="public",
        signature="admin_user_progress_access",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_user_progress_admin_user_progress_access)

    public_analogy_feedback_analogy_feedback_isolation_select = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_select",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_analogy_feedback_analogy_feedback_isolation_select)

    public_analogy_feedback_analogy_feedback_isolation_insert = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_insert",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.create_entity(public_analogy_feedback_analogy_feedback_isolation_insert)

    public_analogy_feedback_analogy_feedback_isolation_update = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_update",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.create_entity(public_analogy_feedback_analogy_feedback_isolation_update)

    public_analogy_feedback_analogy_feedback_isolation_delete = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_delete",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.create_entity(public_analogy_feedback_analogy_feedback_isolation_delete)

    public_analogy_feedback_admin_analogy_feedback_access = PGPolicy(
        schema="public",
        signature="admin_analogy_feedback_access",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.create_entity(public_analogy_feedback_admin_analogy_feedback_access)

    for statement in GRANTS:
        op.execute(statement)
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # Revoking a table privilege revokes the column privileges under it too.
    op.execute(
        "REVOKE ALL ON " + ", ".join((*RLS_TABLES, "migrations_log")) + " FROM " + ", ".join(ROLES)
    )
    op.execute("REVOKE USAGE ON SCHEMA public FROM " + ", ".join(ROLES))
    public_analogy_feedback_admin_analogy_feedback_access = PGPolicy(
        schema="public",
        signature="admin_analogy_feedback_access",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_analogy_feedback_admin_analogy_feedback_access)

    public_analogy_feedback_analogy_feedback_isolation_delete = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_delete",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_analogy_feedback_analogy_feedback_isolation_delete)

    public_analogy_feedback_analogy_feedback_isolation_update = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_update",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.drop_entity(public_analogy_feedback_analogy_feedback_isolation_update)

    public_analogy_feedback_analogy_feedback_isolation_insert = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_insert",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.drop_entity(public_analogy_feedback_analogy_feedback_isolation_insert)

    public_analogy_feedback_analogy_feedback_isolation_select = PGPolicy(
        schema="public",
        signature="analogy_feedback_isolation_select",
        on_entity="public.analogy_feedback",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_analogy_feedback_analogy_feedback_isolation_select)

    public_user_progress_admin_user_progress_access = PGPolicy(
        schema="public",
        signature="admin_user_progress_access",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_user_progress_admin_user_progress_access)

    public_user_progress_progress_isolation_delete = PGPolicy(
        schema="public",
        signature="progress_isolation_delete",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_progress_progress_isolation_delete)

    public_user_progress_progress_isolation_update = PGPolicy(
        schema="public",
        signature="progress_isolation_update",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.drop_entity(public_user_progress_progress_isolation_update)

    public_user_progress_progress_isolation_insert = PGPolicy(
        schema="public",
        signature="progress_isolation_insert",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n        AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n    )",
    )
    op.drop_entity(public_user_progress_progress_isolation_insert)

    public_user_progress_progress_isolation_select = PGPolicy(
        schema="public",
        signature="progress_isolation_select",
        on_entity="public.user_progress",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_progress_progress_isolation_select)

    public_user_annotations_admin_user_annotations_access = PGPolicy(
        schema="public",
        signature="admin_user_annotations_access",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_user_annotations_admin_user_annotations_access)

    public_user_annotations_feedback_isolation_delete = PGPolicy(
        schema="public",
        signature="feedback_isolation_delete",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_annotations_feedback_isolation_delete)

    public_user_annotations_feedback_isolation_update = PGPolicy(
        schema="public",
        signature="feedback_isolation_update",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.drop_entity(public_user_annotations_feedback_isolation_update)

    public_user_annotations_feedback_isolation_insert = PGPolicy(
        schema="public",
        signature="feedback_isolation_insert",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.drop_entity(public_user_annotations_feedback_isolation_insert)

    public_user_annotations_feedback_isolation_select = PGPolicy(
        schema="public",
        signature="feedback_isolation_select",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_annotations_feedback_isolation_select)

    public_course_documents_worker_course_documents_update = PGPolicy(
        schema="public",
        signature="worker_course_documents_update",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_course_documents_worker_course_documents_update)

    public_course_documents_worker_course_documents_read = PGPolicy(
        schema="public",
        signature="worker_course_documents_read",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_worker\n    USING (true)",
    )
    op.drop_entity(public_course_documents_worker_course_documents_read)

    public_course_documents_admin_course_documents_access = PGPolicy(
        schema="public",
        signature="admin_course_documents_access",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_course_documents_admin_course_documents_access)

    public_course_documents_document_isolation_delete = PGPolicy(
        schema="public",
        signature="document_isolation_delete",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.drop_entity(public_course_documents_document_isolation_delete)

    public_course_documents_document_isolation_update = PGPolicy(
        schema="public",
        signature="document_isolation_update",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))\n    WITH CHECK (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.drop_entity(public_course_documents_document_isolation_update)

    public_course_documents_document_isolation_insert = PGPolicy(
        schema="public",
        signature="document_isolation_insert",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.drop_entity(public_course_documents_document_isolation_insert)

    public_course_documents_document_isolation_select = PGPolicy(
        schema="public",
        signature="document_isolation_select",
        on_entity="public.course_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c)))",
    )
    op.drop_entity(public_course_documents_document_isolation_select)

    public_courses_admin_courses_access = PGPolicy(
        schema="public",
        signature="admin_courses_access",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_courses_admin_courses_access)

    public_courses_course_isolation_delete = PGPolicy(
        schema="public",
        signature="course_isolation_delete",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_courses_course_isolation_delete)

    public_courses_course_isolation_update = PGPolicy(
        schema="public",
        signature="course_isolation_update",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_courses_course_isolation_update)

    public_courses_course_isolation_insert = PGPolicy(
        schema="public",
        signature="course_isolation_insert",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_courses_course_isolation_insert)

    public_courses_course_isolation_select = PGPolicy(
        schema="public",
        signature="course_isolation_select",
        on_entity="public.courses",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_courses_course_isolation_select)

    public_chapter_complexity_worker_chapter_complexity_access = PGPolicy(
        schema="public",
        signature="worker_chapter_complexity_access",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_chapter_complexity_worker_chapter_complexity_access)

    public_chapter_complexity_admin_chapter_complexity_access = PGPolicy(
        schema="public",
        signature="admin_chapter_complexity_access",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_chapter_complexity_admin_chapter_complexity_access)

    public_chapter_complexity_chapter_complexity_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_delete",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_chapter_complexity_chapter_complexity_isolation_delete)

    public_chapter_complexity_chapter_complexity_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_update",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_chapter_complexity_chapter_complexity_isolation_update)

    public_chapter_complexity_chapter_complexity_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_insert",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_chapter_complexity_chapter_complexity_isolation_insert)

    public_chapter_complexity_chapter_complexity_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_complexity_isolation_select",
        on_entity="public.chapter_complexity",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_chapter_complexity_chapter_complexity_isolation_select)

    public_relationships_worker_relationships_access = PGPolicy(
        schema="public",
        signature="worker_relationships_access",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_relationships_worker_relationships_access)

    public_relationships_admin_relationships_access = PGPolicy(
        schema="public",
        signature="admin_relationships_access",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_relationships_admin_relationships_access)

    public_relationships_relationship_isolation_delete = PGPolicy(
        schema="public",
        signature="relationship_isolation_delete",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_relationships_relationship_isolation_delete)

    public_relationships_relationship_isolation_update = PGPolicy(
        schema="public",
        signature="relationship_isolation_update",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))\n    WITH CHECK (\n        chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n        AND source_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n        AND target_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n    )",
    )
    op.drop_entity(public_relationships_relationship_isolation_update)

    public_relationships_relationship_isolation_insert = PGPolicy(
        schema="public",
        signature="relationship_isolation_insert",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))\n        AND source_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n        AND target_keyword_id = ANY (ARRAY(SELECT k.keyword_id FROM public.keywords k))\n    )",
    )
    op.drop_entity(public_relationships_relationship_isolation_insert)

    public_relationships_relationship_isolation_select = PGPolicy(
        schema="public",
        signature="relationship_isolation_select",
        on_entity="public.relationships",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_relationships_relationship_isolation_select)

    public_keywords_worker_keywords_access = PGPolicy(
        schema="public",
        signature="worker_keywords_access",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_keywords_worker_keywords_access)

    public_keywords_admin_keywords_access = PGPolicy(
        schema="public",
        signature="admin_keywords_access",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_keywords_admin_keywords_access)

    public_keywords_keyword_isolation_delete = PGPolicy(
        schema="public",
        signature="keyword_isolation_delete",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_keywords_keyword_isolation_delete)

    public_keywords_keyword_isolation_update = PGPolicy(
        schema="public",
        signature="keyword_isolation_update",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_keywords_keyword_isolation_update)

    public_keywords_keyword_isolation_insert = PGPolicy(
        schema="public",
        signature="keyword_isolation_insert",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_keywords_keyword_isolation_insert)

    public_keywords_keyword_isolation_select = PGPolicy(
        schema="public",
        signature="keyword_isolation_select",
        on_entity="public.keywords",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch)))",
    )
    op.drop_entity(public_keywords_keyword_isolation_select)

    public_chapters_worker_chapters_access = PGPolicy(
        schema="public",
        signature="worker_chapters_access",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR ALL TO sensa_worker\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_chapters_worker_chapters_access)

    public_chapters_admin_chapters_access = PGPolicy(
        schema="public",
        signature="admin_chapters_access",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_chapters_admin_chapters_access)

    public_chapters_chapter_isolation_delete = PGPolicy(
        schema="public",
        signature="chapter_isolation_delete",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.drop_entity(public_chapters_chapter_isolation_delete)

    public_chapters_chapter_isolation_update = PGPolicy(
        schema="public",
        signature="chapter_isolation_update",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))\n    WITH CHECK (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.drop_entity(public_chapters_chapter_isolation_update)

    public_chapters_chapter_isolation_insert = PGPolicy(
        schema="public",
        signature="chapter_isolation_insert",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.drop_entity(public_chapters_chapter_isolation_insert)

    public_chapters_chapter_isolation_select = PGPolicy(
        schema="public",
        signature="chapter_isolation_select",
        on_entity="public.chapters",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (processed_id = ANY (ARRAY(SELECT pd.processed_id FROM public.processed_documents pd)))",
    )
    op.drop_entity(public_chapters_chapter_isolation_select)

    public_processed_documents_worker_processed_documents_delete = PGPolicy(
        schema="public",
        signature="worker_processed_documents_delete",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_worker\n    USING (true)",
    )
    op.drop_entity(public_processed_documents_worker_processed_documents_delete)

    public_processed_documents_worker_processed_documents_update = PGPolicy(
        schema="public",
        signature="worker_processed_documents_update",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_worker\n    USING (true)\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.drop_entity(public_processed_documents_worker_processed_documents_update)

    public_processed_documents_worker_processed_documents_insert = PGPolicy(
        schema="public",
        signature="worker_processed_documents_insert",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_worker\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.drop_entity(public_processed_documents_worker_processed_documents_insert)

    public_processed_documents_worker_processed_documents_read = PGPolicy(
        schema="public",
        signature="worker_processed_documents_read",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_worker\n    USING (true)",
    )
    op.drop_entity(public_processed_documents_worker_processed_documents_read)

    public_processed_documents_admin_processed_documents_access = PGPolicy(
        schema="public",
        signature="admin_processed_documents_access",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_processed_documents_admin_processed_documents_access)

    public_processed_documents_processed_document_isolation_delete = PGPolicy(
        schema="public",
        signature="processed_document_isolation_delete",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (\n        document_id = ANY (ARRAY(SELECT d.document_id FROM public.course_documents d))\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.drop_entity(public_processed_documents_processed_document_isolation_delete)

    public_processed_documents_processed_document_isolation_update = PGPolicy(
        schema="public",
        signature="processed_document_isolation_update",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (\n        document_id = ANY (ARRAY(SELECT d.document_id FROM public.course_documents d))\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.drop_entity(public_processed_documents_processed_document_isolation_update)

    public_processed_documents_processed_document_isolation_insert = PGPolicy(
        schema="public",
        signature="processed_document_isolation_insert",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (\n        EXISTS (\n            SELECT FROM public.course_documents d\n            WHERE d.document_id = processed_documents.document_id\n                AND d.course_id = processed_documents.course_id\n        )\n    )",
    )
    op.drop_entity(public_processed_documents_processed_document_isolation_insert)

    public_processed_documents_processed_document_isolation_select = PGPolicy(
        schema="public",
        signature="processed_document_isolation_select",
        on_entity="public.processed_documents",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (\n        document_id = ANY (ARRAY(SELECT d.document_id FROM public.course_documents d))\n        AND course_id = ANY (ARRAY(SELECT c.course_id FROM public.courses c))\n    )",
    )
    op.drop_entity(public_processed_documents_processed_document_isolation_select)

    public_user_profiles_admin_all_access = PGPolicy(
        schema="public",
        signature="admin_all_access",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_user_profiles_admin_all_access)

    public_user_profiles_user_profile_isolation_delete = PGPolicy(
        schema="public",
        signature="user_profile_isolation_delete",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_profiles_user_profile_isolation_delete)

    public_user_profiles_user_profile_isolation_update = PGPolicy(
        schema="public",
        signature="user_profile_isolation_update",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_profiles_user_profile_isolation_update)

    public_user_profiles_user_profile_isolation_insert = PGPolicy(
        schema="public",
        signature="user_profile_isolation_insert",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_profiles_user_profile_isolation_insert)

    public_user_profiles_user_profile_isolation_select = PGPolicy(
        schema="public",
        signature="user_profile_isolation_select",
        on_entity="public.user_profiles",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_user_profiles_user_profile_isolation_select)

    public_users_admin_users_access = PGPolicy(
        schema="public",
        signature="admin_users_access",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR ALL TO admin_role\n    USING (true)\n    WITH CHECK (true)",
    )
    op.drop_entity(public_users_admin_users_access)

    public_users_user_isolation_delete = PGPolicy(
        schema="public",
        signature="user_isolation_delete",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR DELETE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_users_user_isolation_delete)

    public_users_user_isolation_update = PGPolicy(
        schema="public",
        signature="user_isolation_update",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_users_user_isolation_update)

    public_users_user_isolation_insert = PGPolicy(
        schema="public",
        signature="user_isolation_insert",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR INSERT TO sensa_app\n    WITH CHECK (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_users_user_isolation_insert)

    public_users_user_isolation_select = PGPolicy(
        schema="public",
        signature="user_isolation_select",
        on_entity="public.users",
        definition="AS PERMISSIVE FOR SELECT TO sensa_app\n    USING (user_id = (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid))",
    )
    op.drop_entity(public_users_user_isolation_select)

    public_set_current_user_id = PGFunction(
        schema="public",
        signature="set_current_user_id(p_user_id uuid)",
        definition="returns void\nLANGUAGE sql\nVOLATILE\nSECURITY INVOKER\nSET search_path = ''\nAS $$\n    SELECT pg_catalog.set_config('app.current_user_id', coalesce(p_user_id::text, ''), true);\n$$",
    )
    op.drop_entity(public_set_current_user_id)
