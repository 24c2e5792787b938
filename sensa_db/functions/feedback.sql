/**
 * The feedback groups that reached consensus, for the feedback pipeline:
 * each (course, feedback type, rating) given by at least p_min_users
 * distinct learners among unprocessed annotations, with the annotations to
 * mark processed once acted on, most-agreed first. The count is the one
 * check_feedback_consensus() keeps in consensus_count.
 *
 * SECURITY INVOKER: the pipeline's role must be allowed to read every
 * learner's annotations; a learner calling it sees only groups in their rows.
 */
CREATE OR REPLACE FUNCTION public.get_pending_consensus(p_min_users integer DEFAULT 3)
RETURNS TABLE (
    course_id uuid,
    feedback_type public.feedback_type_enum,
    rating integer,
    learner_count integer,
    annotation_ids uuid[],
    first_submitted_at timestamp with time zone,
    last_submitted_at timestamp with time zone
)
LANGUAGE sql
STABLE
STRICT
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT
        ua.course_id,
        ua.feedback_type,
        ua.rating,
        count(DISTINCT ua.user_id)::integer,
        array_agg(ua.annotation_id ORDER BY ua.submitted_at, ua.annotation_id),
        min(ua.submitted_at),
        max(ua.submitted_at)
    FROM public.user_annotations ua
    WHERE NOT ua.processed AND ua.rating IS NOT NULL
    GROUP BY ua.course_id, ua.feedback_type, ua.rating
    HAVING count(DISTINCT ua.user_id) >= p_min_users
    ORDER BY count(DISTINCT ua.user_id) DESC, min(ua.submitted_at), ua.course_id,
             ua.feedback_type, ua.rating
$$;

/**
 * A course's feedback at a glance: the number of annotations, their count
 * per feedback type (every type present, 0 when none), the average rating
 * (2 decimals, NULL without ratings), the number of unprocessed groups agreed
 * on by at least 3 learners (get_pending_consensus()'s default), and the
 * analogy feedback on the course's chapters with the share found helpful
 * (4 decimals, NULL without any). No row for a course the caller cannot see.
 *
 * SECURITY INVOKER: row-level security decides which courses and which
 * learners' feedback the caller sees.
 */
CREATE OR REPLACE FUNCTION public.get_feedback_summary(p_course_id uuid)
RETURNS TABLE (
    total_feedback integer,
    feedback_by_type jsonb,
    average_rating numeric,
    consensus_groups integer,
    analogy_feedback_count integer,
    analogy_helpful_ratio numeric
)
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT
        annotations.total,
        (
            SELECT jsonb_object_agg(t.feedback_type, coalesce(n.annotations, 0) ORDER BY t.feedback_type)
            FROM unnest(enum_range(NULL::public.feedback_type_enum)) AS t(feedback_type)
            LEFT JOIN (
                SELECT ua.feedback_type, count(*)::integer AS annotations
                FROM public.user_annotations ua
                WHERE ua.course_id = co.course_id
                GROUP BY ua.feedback_type
            ) AS n ON n.feedback_type = t.feedback_type
        ),
        annotations.average_rating,
        (
            SELECT count(*)::integer
            FROM (
                SELECT
                FROM public.user_annotations ua
                WHERE ua.course_id = co.course_id AND NOT ua.processed AND ua.rating IS NOT NULL
                GROUP BY ua.feedback_type, ua.rating
                HAVING count(DISTINCT ua.user_id) >= 3
            ) AS agreed
        ),
        analogies.total,
        analogies.helpful_ratio
    FROM public.courses co
    CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total, round(avg(ua.rating), 2) AS average_rating
        FROM public.user_annotations ua
        WHERE ua.course_id = co.course_id
    ) AS annotations
    CROSS JOIN LATERAL (
        SELECT
            count(*)::integer AS total,
            round((count(*) FILTER (WHERE af.helpful))::numeric / nullif(count(*), 0), 4)
                AS helpful_ratio
        FROM public.analogy_feedback af
        JOIN public.chapters c ON c.chapter_id = af.chapter_id
        JOIN public.processed_documents pd ON pd.processed_id = c.processed_id
        WHERE pd.course_id = co.course_id
    ) AS analogies
    WHERE co.course_id = p_course_id
$$;

/**
 * What learners agreed on about the same content: each (cache_key,
 * feedback_type, rating) that at least p_min_users distinct learners gave,
 * among unprocessed annotations that rate a processed document (their
 * cache_key, stamped by stamp_annotation_cache_key(), names the PDF content
 * and pipeline version), most-agreed first. Courses are private, so the
 * design's per-course groups (get_pending_consensus()) never gather three
 * learners; this is the design's "consensus (3+ users)" about what the
 * pipeline made of a document. One learner's repeated ratings count once.
 * Refuses p_min_users below 1 (rule min_users_positive).
 *
 * SECURITY DEFINER, owned by sensa_consensus, because the count spans
 * learners whose annotations neither the worker nor a learner may read.
 * It cannot leak rows: it returns counts per content key, never a learner,
 * an annotation or a comment, and EXECUTE is granted to the worker and
 * admin_role only, not to learners: a learner who saw a count would learn
 * that others uploaded the same PDF. Every name is qualified and the path
 * lists pg_temp last, so no caller's temporary object can stand in for
 * one (docs/SECURITY.md, "Definers").
 */
CREATE OR REPLACE FUNCTION public.get_content_consensus(p_min_users integer DEFAULT 3)
RETURNS TABLE (
    cache_key character varying,
    feedback_type public.feedback_type_enum,
    rating integer,
    learner_count integer,
    first_submitted_at timestamp with time zone,
    last_submitted_at timestamp with time zone
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF p_min_users IS NULL OR p_min_users < 1 THEN
        RAISE EXCEPTION 'consensus needs at least one learner, not % (rule min_users_positive)',
            p_min_users
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'min_users_positive';
    END IF;
    RETURN QUERY
    SELECT ua.cache_key, ua.feedback_type, ua.rating,
        pg_catalog.count(DISTINCT ua.user_id)::integer,
        pg_catalog.min(ua.submitted_at),
        pg_catalog.max(ua.submitted_at)
    FROM public.user_annotations ua
    WHERE NOT ua.processed AND ua.cache_key IS NOT NULL AND ua.rating IS NOT NULL
    GROUP BY ua.cache_key, ua.feedback_type, ua.rating
    HAVING pg_catalog.count(DISTINCT ua.user_id) >= p_min_users
    ORDER BY 4 DESC, 5, 1, 2, 3;
END;
$$;
