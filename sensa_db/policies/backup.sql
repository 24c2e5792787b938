/*
 * Row-level security for logical backups: sensa_backup reads every learner's
 * rows, and nothing else.
 *
 * pg_dump --enable-row-security reads each table under its policies. RLS is
 * FORCEd and nothing on RDS is a superuser: without a policy for the role that
 * dumps, a dump holds no learner rows (or, without --enable-row-security,
 * fails), and BYPASSRLS cannot be granted by the RDS master user on
 * PostgreSQL 15 (docs/OPERATIONS.md, "Logical backups"). So the backup role
 * reads through one SELECT policy per table, USING (true), and holds SELECT on
 * every table and no other privilege: no policy or grant lets it write.
 *
 * A policy applies to a role's members: a member of sensa_backup reads every
 * row. Make backup and export logins members, never the migrating owner
 * (docs/SECURITY.md, "Membership is visibility").
 */

/** A logical dump, a restore drill and a learner's export read every learner's account row. */
CREATE POLICY backup_users_read ON public.users
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every learner's profile. */
CREATE POLICY backup_user_profiles_read ON public.user_profiles
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every learner's courses. */
CREATE POLICY backup_courses_read ON public.courses
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every uploaded document's record. */
CREATE POLICY backup_course_documents_read ON public.course_documents
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every processed document. */
CREATE POLICY backup_processed_documents_read ON public.processed_documents
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every chapter. */
CREATE POLICY backup_chapters_read ON public.chapters
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every keyword and its embedding. */
CREATE POLICY backup_keywords_read ON public.keywords
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every relationship between keywords. */
CREATE POLICY backup_relationships_read ON public.relationships
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every chapter's complexity. */
CREATE POLICY backup_chapter_complexity_read ON public.chapter_complexity
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every annotation. */
CREATE POLICY backup_user_annotations_read ON public.user_annotations
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every learner's progress. */
CREATE POLICY backup_user_progress_read ON public.user_progress
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);

/** A logical dump, a restore drill and a learner's export read every piece of analogy feedback. */
CREATE POLICY backup_analogy_feedback_read ON public.analogy_feedback
    AS PERMISSIVE FOR SELECT TO sensa_backup
    USING (true);
