/*
 * Row-level security for what the pipeline makes of a document: the processed
 * document, its chapters, keywords, relationships and chapter complexity.
 *
 * Every row carries its owner in user_id, stamped from its parent by
 * the inherit_owner_from_* triggers (sensa_db/triggers/ownership.sql) and never
 * chosen by the writer, so every learner policy here is user_id = the request
 * context: an index lookup, the same test as on courses. Until revision
 * 9d2c41e07b35 each policy selected its parent's visible ids and the parent's
 * policy did the same, up to courses; that chain cost 2 to 5 ms on every
 * query touching these tables (docs/BENCHMARKS.md).
 *
 * The pipeline's worker (sensa_worker) reads these rows for any course and
 * writes them only through its protocol's functions, which run as
 * sensa_pipeline. admin_role sees and writes all of them.
 */

/**
 * A learner reads the processed form of their own documents only. The owner
 * is the document's, and only when the row names the document's own course:
 * a row naming one learner's document under another's course has no owner.
 */
CREATE POLICY processed_document_isolation_select ON public.processed_documents
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (
        user_id = (SELECT public.current_learner_id())
    );

/**
 * A learner (the API, when it reuses a cached result) records processing of
 * their own document only, under that document's own course (otherwise the
 * row gets no owner).
 */
CREATE POLICY processed_document_isolation_insert ON public.processed_documents
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
    );

/** A learner edits their own processed documents and cannot move one elsewhere. */
CREATE POLICY processed_document_isolation_update ON public.processed_documents
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (
        user_id = (SELECT public.current_learner_id())
    )
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
    );

/** A learner deletes the processed form of their own documents only. */
CREATE POLICY processed_document_isolation_delete ON public.processed_documents
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (
        user_id = (SELECT public.current_learner_id())
    );

/** Staff administration of processing results. */
CREATE POLICY admin_processed_documents_access ON public.processed_documents
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** The pipeline reads every processing result (to reuse a cached one, to reprocess). */
CREATE POLICY worker_processed_documents_read ON public.processed_documents
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true);

/**
 * The worker's protocol functions (SECURITY DEFINER, owned by sensa_pipeline)
 * read, replace and discard processing results; the worker itself writes
 * none. Open only while sensa_pipeline is the effective user, i.e. inside
 * those functions: the schema's owner is a member of sensa_pipeline (to
 * replace its functions), and a policy applies to a role's members too.
 */
CREATE POLICY pipeline_processed_documents_read ON public.processed_documents
    AS PERMISSIVE FOR SELECT TO sensa_pipeline
    USING (current_user = 'sensa_pipeline');

/** ... and stores a result only under its document's own course: the course decides who sees it. */
CREATE POLICY pipeline_processed_documents_insert ON public.processed_documents
    AS PERMISSIVE FOR INSERT TO sensa_pipeline
    WITH CHECK (
        current_user = 'sensa_pipeline'
        AND EXISTS (
            SELECT FROM public.course_documents d
            WHERE d.document_id = processed_documents.document_id
                AND d.course_id = processed_documents.course_id
        )
    );

/** ... and discards a result before reprocessing a document. */
CREATE POLICY pipeline_processed_documents_delete ON public.processed_documents
    AS PERMISSIVE FOR DELETE TO sensa_pipeline
    USING (current_user = 'sensa_pipeline');

/** A learner reads the chapters of their own processed documents only. */
CREATE POLICY chapter_isolation_select ON public.chapters
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner adds chapters to their own processed documents only. */
CREATE POLICY chapter_isolation_insert ON public.chapters
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner edits their own chapters and cannot move one into another learner's document. */
CREATE POLICY chapter_isolation_update ON public.chapters
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes their own chapters only. */
CREATE POLICY chapter_isolation_delete ON public.chapters
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff administration of chapters. */
CREATE POLICY admin_chapters_access ON public.chapters
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** The pipeline reads the chapters of every course. */
CREATE POLICY worker_chapters_read ON public.chapters
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true);

/**
 * The protocol's functions write chapters for any course (see
 * pipeline_processed_documents_read); the owner is stamped from the parent.
 */
CREATE POLICY pipeline_chapters_access ON public.chapters
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline');

/** A learner reads the keywords of their own chapters only. */
CREATE POLICY keyword_isolation_select ON public.keywords
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner adds keywords to their own chapters only. */
CREATE POLICY keyword_isolation_insert ON public.keywords
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner edits their own keywords and cannot move one into another learner's chapter. */
CREATE POLICY keyword_isolation_update ON public.keywords
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes their own keywords only. */
CREATE POLICY keyword_isolation_delete ON public.keywords
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff administration of keywords. */
CREATE POLICY admin_keywords_access ON public.keywords
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** The pipeline reads the keywords of every course. */
CREATE POLICY worker_keywords_read ON public.keywords
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true);

/**
 * The protocol's functions write keywords for any course (see
 * pipeline_processed_documents_read); the owner is stamped from the parent.
 */
CREATE POLICY pipeline_keywords_access ON public.keywords
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline');

/** A learner reads the relationships of their own chapters only. */
CREATE POLICY relationship_isolation_select ON public.relationships
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/**
 * A learner relates keywords in their own chapters only, and only their own
 * keywords: a relationship to another learner's keyword would tie the two
 * concept maps together (and be deleted with the other learner's data).
 */
CREATE POLICY relationship_isolation_insert ON public.relationships
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.source_keyword_id)
        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.target_keyword_id)
    );

/** A learner edits their own relationships and cannot point one at another learner's data. */
CREATE POLICY relationship_isolation_update ON public.relationships
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.source_keyword_id)
        AND EXISTS (SELECT FROM public.keywords k WHERE k.keyword_id = relationships.target_keyword_id)
    );

/** A learner deletes their own relationships only. */
CREATE POLICY relationship_isolation_delete ON public.relationships
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff administration of relationships. */
CREATE POLICY admin_relationships_access ON public.relationships
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** The pipeline reads the relationships of every course. */
CREATE POLICY worker_relationships_read ON public.relationships
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true);

/**
 * The protocol's functions write relationships for any course (see
 * pipeline_processed_documents_read); the owner is stamped from the parent.
 */
CREATE POLICY pipeline_relationships_access ON public.relationships
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline');

/** A learner reads the complexity of their own chapters only. */
CREATE POLICY chapter_complexity_isolation_select ON public.chapter_complexity
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner records complexity for their own chapters only. */
CREATE POLICY chapter_complexity_isolation_insert ON public.chapter_complexity
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner edits the complexity of their own chapters and cannot move it to another's. */
CREATE POLICY chapter_complexity_isolation_update ON public.chapter_complexity
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes the complexity of their own chapters only. */
CREATE POLICY chapter_complexity_isolation_delete ON public.chapter_complexity
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff administration of chapter complexity. */
CREATE POLICY admin_chapter_complexity_access ON public.chapter_complexity
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** The pipeline reads the chapter complexity of every course. */
CREATE POLICY worker_chapter_complexity_read ON public.chapter_complexity
    AS PERMISSIVE FOR SELECT TO sensa_worker
    USING (true);

/**
 * The protocol's functions write chapter complexity for any course (see
 * pipeline_processed_documents_read); the owner is stamped from the parent.
 */
CREATE POLICY pipeline_chapter_complexity_access ON public.chapter_complexity
    AS PERMISSIVE FOR ALL TO sensa_pipeline
    USING (current_user = 'sensa_pipeline')
    WITH CHECK (current_user = 'sensa_pipeline');
