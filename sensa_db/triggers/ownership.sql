/**
 * The learner who owns a concept-map row is stamped on it: user_id is copied
 * from the row's parent, whatever the writer supplied, on insert and whenever
 * the parent reference or user_id itself is written.
 *
 *   courses.user_id -> course_documents -> processed_documents -> chapters
 *                                                               -> keywords
 *                                                               -> relationships
 *                                                               -> chapter_complexity
 *
 * The column exists so that every learner policy on these tables can be
 * user_id = <the request context>, an index lookup, instead of rebuilding the
 * learner's documents and chapters through each parent's policy in turn (the
 * benchmark measured that chain at 2 to 5 ms per query). It is derived, never
 * chosen: a learner cannot write another learner's id into it.
 *
 * One function per parent, not one dispatching on TG_TABLE_NAME: each reads
 * only columns its tables have, so plpgsql_check can check every path with
 * its table (tests/test_plpgsql_check.py).
 *
 * SECURITY INVOKER on purpose: the parent is read under the writer's own
 * row-level security. A parent the writer cannot see leaves user_id NULL, and
 * the row is then refused by the learner's WITH CHECK (42501) or by NOT NULL.
 */

/** A document takes the owner of its course. */
CREATE OR REPLACE FUNCTION public.inherit_owner_from_course()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    NEW.user_id := (SELECT c.user_id FROM public.courses c WHERE c.course_id = NEW.course_id);
    RETURN NEW;
END;
$$;

/**
 * A processed document takes the owner of its document, only when it is filed
 * under that document's own course: a mismatched pair gets no owner.
 */
CREATE OR REPLACE FUNCTION public.inherit_owner_from_document()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    NEW.user_id := (
        SELECT d.user_id FROM public.course_documents d
        WHERE d.document_id = NEW.document_id AND d.course_id = NEW.course_id
    );
    RETURN NEW;
END;
$$;

/** A chapter takes the owner of its processed document. */
CREATE OR REPLACE FUNCTION public.inherit_owner_from_processed_document()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    NEW.user_id := (
        SELECT pd.user_id FROM public.processed_documents pd
        WHERE pd.processed_id = NEW.processed_id
    );
    RETURN NEW;
END;
$$;

/** A keyword, relationship or chapter complexity takes the owner of its chapter. */
CREATE OR REPLACE FUNCTION public.inherit_owner_from_chapter()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    NEW.user_id := (SELECT ch.user_id FROM public.chapters ch WHERE ch.chapter_id = NEW.chapter_id);
    RETURN NEW;
END;
$$;

/** A document belongs to the owner of its course. */
CREATE TRIGGER inherit_owner_on_course_documents
    BEFORE INSERT OR UPDATE OF user_id, course_id ON public.course_documents
    FOR EACH ROW
    EXECUTE FUNCTION public.inherit_owner_from_course();

/** A processed document belongs to the owner of its document (in that document's course). */
CREATE TRIGGER inherit_owner_on_processed_documents
    BEFORE INSERT OR UPDATE OF user_id, document_id, course_id ON public.processed_documents
    FOR EACH ROW
    EXECUTE FUNCTION public.inherit_owner_from_document();

/** A chapter belongs to the owner of its processed document. */
CREATE TRIGGER inherit_owner_on_chapters
    BEFORE INSERT OR UPDATE OF user_id, processed_id ON public.chapters
    FOR EACH ROW
    EXECUTE FUNCTION public.inherit_owner_from_processed_document();

/** A keyword belongs to the owner of its chapter. */
CREATE TRIGGER inherit_owner_on_keywords
    BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.keywords
    FOR EACH ROW
    EXECUTE FUNCTION public.inherit_owner_from_chapter();

/** A relationship belongs to the owner of its chapter. */
CREATE TRIGGER inherit_owner_on_relationships
    BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.relationships
    FOR EACH ROW
    EXECUTE FUNCTION public.inherit_owner_from_chapter();

/** A chapter's complexity belongs to the owner of the chapter. */
CREATE TRIGGER inherit_owner_on_chapter_complexity
    BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.chapter_complexity
    FOR EACH ROW
    EXECUTE FUNCTION public.inherit_owner_from_chapter();

/**
 * The stamped owner stays true when a parent changes hands: staff moving a
 * course to another learner, or a document to another learner's course. The
 * children are rewritten one level down; their own inherit and propagate
 * triggers carry the change to the bottom of the concept map. Learners cannot
 * start this (their policies refuse a change of owner), and a move within one
 * learner's courses changes no owner and rewrites nothing.
 *
 * SECURITY INVOKER: the writer must be allowed to rewrite the children too.
 */

/** A course's documents follow its owner. */
CREATE OR REPLACE FUNCTION public.propagate_owner_to_documents()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    UPDATE public.course_documents SET user_id = NEW.user_id
    WHERE course_id = NEW.course_id AND user_id IS DISTINCT FROM NEW.user_id;
    RETURN NULL;
END;
$$;

/**
 * A document's processed form follows its owner and its course: the processed
 * document's course_id must always be the document's own.
 */
CREATE OR REPLACE FUNCTION public.propagate_owner_to_processed_document()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    UPDATE public.processed_documents SET user_id = NEW.user_id, course_id = NEW.course_id
    WHERE document_id = NEW.document_id
        AND (user_id, course_id) IS DISTINCT FROM (NEW.user_id, NEW.course_id);
    RETURN NULL;
END;
$$;

/** A processed document's chapters follow its owner. */
CREATE OR REPLACE FUNCTION public.propagate_owner_to_chapters()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    UPDATE public.chapters SET user_id = NEW.user_id
    WHERE processed_id = NEW.processed_id AND user_id IS DISTINCT FROM NEW.user_id;
    RETURN NULL;
END;
$$;

/** A chapter's keywords, relationships and complexity follow its owner. */
CREATE OR REPLACE FUNCTION public.propagate_owner_to_chapter_contents()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    UPDATE public.keywords SET user_id = NEW.user_id
    WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;
    UPDATE public.relationships SET user_id = NEW.user_id
    WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;
    UPDATE public.chapter_complexity SET user_id = NEW.user_id
    WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;
    RETURN NULL;
END;
$$;

/** A course given to another learner takes its documents with it. */
CREATE TRIGGER propagate_owner_from_courses
    AFTER UPDATE OF user_id ON public.courses
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION public.propagate_owner_to_documents();

/**
 * A document moved to another course takes its processed form with it: the
 * processed document's course_id follows the document's (it would otherwise
 * name a course the document left), and its owner follows the new course's.
 */
CREATE TRIGGER propagate_owner_from_course_documents
    AFTER UPDATE ON public.course_documents
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.course_id IS DISTINCT FROM NEW.course_id)
    EXECUTE FUNCTION public.propagate_owner_to_processed_document();

/** A processed document that changed owner takes its chapters with it. */
CREATE TRIGGER propagate_owner_from_processed_documents
    AFTER UPDATE ON public.processed_documents
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION public.propagate_owner_to_chapters();

/** A chapter that changed owner takes its keywords, relationships and complexity with it. */
CREATE TRIGGER propagate_owner_from_chapters
    AFTER UPDATE ON public.chapters
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION public.propagate_owner_to_chapter_contents();

/**
 * A relationship joins two keywords of its own owner (rule
 * relationship_keywords_one_owner): a writer who may see every learner's
 * keywords (staff, the pipeline's functions) cannot relate one learner's
 * keyword to another's, which would show each of them the other's term. A
 * learner cannot see another's keywords, so this finds nothing for them, and
 * their WITH CHECK refuses such a row as before (42501). Runs after the owner
 * is stamped (BEFORE triggers fire in name order). A change of owner alone
 * (a course given to someone else) moves both keywords too and is not
 * checked here.
 */
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
$$;

/** Every new relationship, and every one re-pointed, joins keywords of its owner. */
CREATE TRIGGER relationship_keywords_one_owner
    BEFORE INSERT OR UPDATE OF source_keyword_id, target_keyword_id, chapter_id
    ON public.relationships
    FOR EACH ROW
    EXECUTE FUNCTION public.check_relationship_keywords_owner();
