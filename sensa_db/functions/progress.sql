/**
 * A learner's study streak as of today (UTC): the current streak, the
 * longest ever and the last day of activity. Always one row; (0, 0, NULL)
 * for a learner who never studied.
 *
 * update_user_streak() writes the learner-level streak onto the progress row
 * being changed, so the learner's row with the latest last_activity_date
 * holds it. A streak whose last activity is older than yesterday has lapsed
 * and reads as 0, although that row still holds the number it ended at.
 *
 * SECURITY INVOKER: row-level security limits the rows read to the caller's.
 *
 * PL/pgSQL with its plan kept, like get_user_progress_summary(), which calls
 * it: as an SQL function that cannot be inlined (its SET search_path) its
 * query was parsed and planned, policies and all, at every call: a quarter
 * of the progress summary's server time (docs/BENCHMARKS.md).
 */
CREATE OR REPLACE FUNCTION public.get_learner_streak(p_user_id uuid)
RETURNS TABLE (
    current_streak integer,
    longest_streak integer,
    last_activity_date date
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT
        CASE
            WHEN latest.last_activity_date >= (now() AT TIME ZONE 'UTC')::date - 1
                THEN latest.current_streak_days
            ELSE 0
        END,
        (
            SELECT coalesce(max(up.longest_streak_days), 0)
            FROM public.user_progress up
            WHERE up.user_id = p_user_id
        ),
        latest.last_activity_date
    FROM (SELECT) AS learner
    LEFT JOIN LATERAL (
        SELECT up.last_activity_date, up.current_streak_days
        FROM public.user_progress up
        WHERE up.user_id = p_user_id AND up.last_activity_date IS NOT NULL
        ORDER BY up.last_activity_date DESC, up.current_streak_days DESC
        LIMIT 1
    ) AS latest ON true;
END;
$$;

/**
 * A course's documents by processing status, its chapters and its keywords.
 * No row for a course that does not exist or that the caller cannot see.
 *
 * The design joined documents x processed documents x chapters x keywords and
 * counted DISTINCT, which builds one row per keyword-and-document
 * combination before counting. Here each table is read once, along the
 * indexed course_id / foreign-key paths: the course's documents counted by
 * status, and its processed documents' chapters, each with its keywords
 * counted through idx_keywords_chapter_id. Under row-level security every
 * table read adds a policy and a call of current_learner_id(), and each of
 * these indexes carries user_id, so the policy's filter is answered from the
 * index (docs/BENCHMARKS.md). Counting from the course row means row-level
 * security on courses also gates the counts.
 *
 * PL/pgSQL, its plan made once per session and reused (plan_cache_mode =
 * force_generic_plan: the plan is the same index path for any course). As a
 * SQL function it was planned anew at every call, row-level security's
 * quals with it.
 *
 * SECURITY INVOKER: row-level security decides which courses the caller sees.
 */
CREATE OR REPLACE FUNCTION public.get_course_stats(p_course_id uuid)
RETURNS TABLE (
    total_documents integer,
    completed_documents integer,
    pending_documents integer,
    failed_documents integer,
    total_chapters integer,
    total_keywords integer
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT
        documents.total, documents.completed, documents.pending, documents.failed,
        concept_map.chapters, concept_map.keywords
    FROM public.courses co
    CROSS JOIN LATERAL (
        SELECT
            count(*)::integer AS total,
            (count(*) FILTER (WHERE d.processing_status = 'completed'))::integer AS completed,
            (count(*) FILTER (WHERE d.processing_status = 'pending'))::integer AS pending,
            (count(*) FILTER (WHERE d.processing_status = 'failed'))::integer AS failed
        FROM public.course_documents d
        WHERE d.course_id = co.course_id
    ) AS documents
    CROSS JOIN LATERAL (
        SELECT count(*)::integer AS chapters, coalesce(sum(words.keywords), 0)::integer AS keywords
        FROM public.processed_documents pd
        JOIN public.chapters c ON c.processed_id = pd.processed_id
        CROSS JOIN LATERAL (
            SELECT count(*) AS keywords FROM public.keywords k WHERE k.chapter_id = c.chapter_id
        ) AS words
        WHERE pd.course_id = co.course_id
    ) AS concept_map
    WHERE co.course_id = p_course_id;
END;
$$;

/**
 * A learner's progress through one course: its chapters, how many the
 * learner completed (and the percentage, NULL for a course without
 * chapters), the learner's current streak and the seconds spent on the
 * course. No row for a course the caller cannot see.
 *
 * current_streak is the learner's (get_learner_streak()), not the largest
 * number on this course's rows as in the design: the streak counts days
 * across all courses, and a lapsed streak reads 0. total_time_spent is 0,
 * not NULL, before any progress.
 *
 * The course's chapters are read once, each with the learner's progress row
 * on it if any (unique_user_chapter_progress: at most one), rather than once
 * to count them and again to join the progress; PL/pgSQL with its plan
 * reused, as get_course_stats().
 *
 * SECURITY INVOKER: row-level security decides which courses and progress
 * rows the caller sees.
 */
CREATE OR REPLACE FUNCTION public.get_user_progress_summary(p_user_id uuid, p_course_id uuid)
RETURNS TABLE (
    total_chapters integer,
    completed_chapters integer,
    completion_percentage numeric,
    current_streak integer,
    total_time_spent integer
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT
        chapters.total,
        chapters.completed,
        round(chapters.completed::numeric / nullif(chapters.total, 0) * 100, 2),
        streak.current_streak,
        chapters.seconds
    FROM public.courses co
    CROSS JOIN LATERAL (
        SELECT
            count(*)::integer AS total,
            (count(*) FILTER (WHERE up.completed))::integer AS completed,
            coalesce(sum(up.time_spent_seconds), 0)::integer AS seconds
        FROM public.processed_documents pd
        JOIN public.chapters c ON c.processed_id = pd.processed_id
        LEFT JOIN public.user_progress up
            ON up.chapter_id = c.chapter_id AND up.user_id = p_user_id
        WHERE pd.course_id = co.course_id
    ) AS chapters
    CROSS JOIN LATERAL public.get_learner_streak(p_user_id) AS streak
    WHERE co.course_id = p_course_id;
END;
$$;

/**
 * A learner's statistics across everything they study: seconds studied,
 * chapters started and completed, their active (not archived) courses and
 * the courses they have progress in, the current and longest streak
 * (get_learner_streak()) and every badge earned on any chapter, each once,
 * sorted. Always one row; zeros and [] for a learner without activity.
 *
 * SECURITY INVOKER: row-level security limits the rows read to the caller's.
 */
CREATE OR REPLACE FUNCTION public.get_learning_statistics(p_user_id uuid)
RETURNS TABLE (
    total_time_spent_seconds bigint,
    chapters_started integer,
    chapters_completed integer,
    active_courses integer,
    courses_studied integer,
    current_streak integer,
    longest_streak integer,
    badges jsonb
)
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT
        progress.seconds,
        progress.started,
        progress.completed,
        (
            SELECT count(*)::integer
            FROM public.courses co
            WHERE co.user_id = p_user_id AND NOT co.is_archived
        ),
        progress.courses,
        streak.current_streak,
        streak.longest_streak,
        (
            SELECT coalesce(jsonb_agg(DISTINCT badge.value ORDER BY badge.value), '[]'::jsonb)
            FROM public.user_progress up
            CROSS JOIN LATERAL jsonb_array_elements(up.badges) AS badge(value)
            WHERE up.user_id = p_user_id
        )
    FROM (
        SELECT
            coalesce(sum(up.time_spent_seconds), 0)::bigint AS seconds,
            count(*)::integer AS started,
            (count(*) FILTER (WHERE up.completed))::integer AS completed,
            count(DISTINCT up.course_id)::integer AS courses
        FROM public.user_progress up
        WHERE up.user_id = p_user_id
    ) AS progress
    CROSS JOIN LATERAL public.get_learner_streak(p_user_id) AS streak
$$;
