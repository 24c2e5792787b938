/*
 * Row-level security for courses and the documents uploaded to them.
 *
 * A course belongs to courses.user_id. A document belongs to the owner of its
 * course, which inherit_owner_from_course() stamps on the document's own
 * user_id (see sensa_db/triggers/ownership.sql): a document in a course the
 * learner cannot see gets no owner and is refused.
 *
 * See accounts.sql for how the request context is read and why.
 */

/** A learner reads their own courses only (design: course_isolation). */
CREATE POLICY course_isolation_select ON public.courses
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner creates courses for themselves only. */
CREATE POLICY course_isolation_insert ON public.courses
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner edits their own courses and cannot give one to another learner. */
CREATE POLICY course_isolation_update ON public.courses
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes their own courses only. */
CREATE POLICY course_isolation_delete ON public.courses
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** The design's admin bypass on courses, keeping its name. */
CREATE POLICY admin_courses_access ON public.courses
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** A learner reads the documents of their own courses only. */
CREATE POLICY document_isolation_select ON public.course_documents
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner uploads into their own courses only (the owner comes from the course). */
CREATE POLICY document_isolation_insert ON public.course_documents
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner edits their own documents and cannot move one into another learner's course. */
CREATE POLICY document_isolation_update ON public.course_documents
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes documents of their own courses only. */
CREATE POLICY document_isolation_delete ON public.course_documents
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff administration of documents. */
CREATE POLICY admin_course_documents_access ON public.course_documents
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/**
 * The pipeline reads every document waiting to be processed, whoever uploaded
 * it; its grant is limited to what processing needs.
 */
CREATE POLICY worker_course_documents_read ON public.course_documents
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true);

/**
 * The worker's protocol functions (SECURITY DEFINER, owned by sensa_pipeline)
 * read every document and report progress on it; the column grant limits the
 * update to processing_status, task_id, error_message and processed_at, so a
 * document never moves to another course. Open only while sensa_pipeline is
 * the effective user (see pipeline_processed_documents_read).
 */
CREATE POLICY pipeline_course_documents_read ON public.course_documents
    AS PERMISSIVE FOR SELECT TO sensa_pipeline
    USING (current_user = 'sensa_pipeline');

/** ... and moves a document through its processing states. */
CREATE POLICY pipeline_course_documents_update ON public.course_documents
    AS PERMISSIVE FOR UPDATE TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline');
