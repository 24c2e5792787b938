/**
 * Keeps user_annotations.consensus_count current: for every unprocessed row
 * with a rating, the number of distinct learners who gave the same
 * (course_id, feedback_type, rating) among unprocessed rows. Recounted on
 * every row of the group whenever a row joins it (INSERT), leaves it (DELETE,
 * processed turning true) or moves between groups (UPDATE of the key). Rows
 * without a rating take no part; processed rows keep the count they had
 * when they were processed. get_pending_consensus() lists the groups that
 * reached a threshold.
 *
 * Fixes the design's check_feedback_consensus(), an AFTER trigger that
 * assigned to NEW (which has no effect after the row is written) and counted
 * rows, so one learner repeating themselves made a "consensus".
 *
 * Concurrent submissions to one group are serialised by a transaction-scoped
 * advisory lock taken before counting: each count then sees every committed
 * member (READ COMMITTED takes a new snapshot per statement), where two
 * transactions counting side by side would each miss the other's row.
 *
 * SECURITY DEFINER, because the count spans learners: under row-level
 * security the submitting learner sees only their own annotations and could
 * neither count nor update the others'. It cannot leak rows: it returns
 * nothing, writes only consensus_count, and only in the groups of the row
 * being written, with the value the rows themselves determine. Every name is
 * qualified and the path lists pg_temp last (docs/SECURITY.md, "Definers").
 */
CREATE OR REPLACE FUNCTION public.check_feedback_consensus()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    course_ids uuid[] := '{}'::uuid[];
    feedback_types public.feedback_type_enum[] := '{}'::public.feedback_type_enum[];
    ratings integer[] := '{}'::integer[];
    touched record;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        course_ids := course_ids || OLD.course_id;
        feedback_types := feedback_types || OLD.feedback_type;
        ratings := ratings || OLD.rating;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        course_ids := course_ids || NEW.course_id;
        feedback_types := feedback_types || NEW.feedback_type;
        ratings := ratings || NEW.rating;
    END IF;

    -- Groups are locked in a fixed order so that two writers moving rows
    -- between the same groups cannot deadlock.
    FOR touched IN
        SELECT DISTINCT g.course_id, g.feedback_type, g.rating
        FROM unnest(course_ids, feedback_types, ratings) AS g(course_id, feedback_type, rating)
        WHERE g.rating IS NOT NULL
        ORDER BY g.course_id, g.feedback_type, g.rating
    LOOP
        PERFORM pg_catalog.pg_advisory_xact_lock(
            pg_catalog.hashtextextended(
                pg_catalog.concat_ws(
                    '/', 'user_annotations consensus',
                    touched.course_id, touched.feedback_type, touched.rating
                ),
                0
            )
        );
        UPDATE public.user_annotations ua
        SET consensus_count = tally.learners
        FROM (
            SELECT pg_catalog.count(DISTINCT a.user_id)::integer AS learners
            FROM public.user_annotations a
            WHERE a.course_id = touched.course_id
              AND a.feedback_type = touched.feedback_type
              AND a.rating = touched.rating
              AND NOT a.processed
        ) tally
        WHERE ua.course_id = touched.course_id
          AND ua.feedback_type = touched.feedback_type
          AND ua.rating = touched.rating
          AND NOT ua.processed
          AND ua.consensus_count <> tally.learners;
    END LOOP;
    RETURN NULL;
END;
$$;

/**
 * Recounts on every change that can move a row into or out of a group. Its
 * own UPDATE of consensus_count does not name these columns, so it does not
 * fire the trigger again.
 */
CREATE TRIGGER check_consensus_on_feedback
    AFTER INSERT OR DELETE OR UPDATE OF user_id, course_id, feedback_type, rating, processed
    ON public.user_annotations
    FOR EACH ROW
    EXECUTE FUNCTION public.check_feedback_consensus();

/**
 * Stamps user_annotations.cache_key, the content and pipeline version an
 * annotation rates, from the processed document it names (processed_id):
 * the learner never writes it, so nobody can join another content's
 * consensus by typing its key. The processed document must be in the
 * annotation's own course and visible to the writer (the function runs as
 * its caller, under row-level security): otherwise the write is refused
 * with SQLSTATE 23514, constraint user_annotations_processed_document_in_course,
 * the same answer whether the document is another learner's or does not
 * exist. When the processed document is deleted (processed_id set NULL),
 * the rating keeps the key of the content it rated.
 */
CREATE OR REPLACE FUNCTION public.stamp_annotation_cache_key()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    rated_key character varying;
BEGIN
    IF NEW.processed_id IS NOT NULL
        AND (TG_OP = 'INSERT'
            OR NEW.processed_id IS DISTINCT FROM OLD.processed_id
            OR NEW.course_id IS DISTINCT FROM OLD.course_id)
    THEN
        SELECT pd.cache_key INTO rated_key
        FROM public.processed_documents pd
        WHERE pd.processed_id = NEW.processed_id AND pd.course_id = NEW.course_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'an annotation can rate only a processed document of its own course (processed document %)',
                NEW.processed_id
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'user_annotations_processed_document_in_course',
                      TABLE = 'user_annotations';
        END IF;
        NEW.cache_key := rated_key;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.cache_key := NULL;
    ELSE
        NEW.cache_key := OLD.cache_key;
    END IF;
    RETURN NEW;
END;
$$;

/** Every annotation's rated content comes from its processed document, never from the writer. */
CREATE TRIGGER stamp_annotation_cache_key
    BEFORE INSERT OR UPDATE OF processed_id, course_id, cache_key ON public.user_annotations
    FOR EACH ROW
    EXECUTE FUNCTION public.stamp_annotation_cache_key();
