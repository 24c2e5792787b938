/**
 * Refuses search arguments whose cost has no bound (the ceilings are the
 * API's, not the database's, but a caller that forgot them must not be able
 * to make one call read and compare without end): a query longer than 200
 * characters (rule search_query_length; trigram matching costs grow with the
 * query's length times the rows compared) and a limit outside 1 to 100 (rule
 * search_limit_range; NULL would mean no limit).
 */
CREATE OR REPLACE FUNCTION public.check_search_arguments(p_query text, p_limit integer)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF length(p_query) > 200 THEN
        RAISE EXCEPTION 'a search query has at most 200 characters, not % (rule search_query_length)',
            length(p_query)
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'search_query_length';
    END IF;
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'a search returns 1 to 100 rows, not % (rule search_limit_range)',
            coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'search_limit_range';
    END IF;
END;
$$;

/**
 * A learner's courses whose name matches p_query, best match first, at most
 * p_limit: trigram word similarity, so a typo still finds its course
 * ("biolgy" finds "Cell Biology") and a word matches inside a longer name.
 * relevance is word_similarity(p_query, name), between 0 and 1; a course
 * matches from 0.5 (pg_trgm's default, 0.6, misses one-letter typos in short
 * words). The <% operator is the one the GIN index idx_courses_name_trgm
 * serves.
 *
 * pg_trgm.word_similarity_threshold is set with set_config() for the query
 * and restored, not in a SET clause: pg_trgm defines it only once its
 * library is loaded, and PostgreSQL refuses a SET clause naming an undefined
 * setting to anyone but a superuser (fresh sessions, pg_restore).
 *
 * Bounded by check_search_arguments(). SECURITY INVOKER: limited to
 * p_user_id's courses, and row-level security on courses applies on top.
 */
CREATE OR REPLACE FUNCTION public.search_courses(
    p_user_id uuid,
    p_query text,
    p_limit integer DEFAULT 20
)
RETURNS TABLE (
    course_id uuid,
    name character varying,
    description text,
    subject character varying,
    is_archived boolean,
    relevance real
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    caller_threshold text := current_setting('pg_trgm.word_similarity_threshold', true);
BEGIN
    PERFORM public.check_search_arguments(p_query, p_limit);
    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);
    RETURN QUERY
    SELECT co.course_id, co.name, co.description, co.subject, co.is_archived,
           word_similarity(p_query, co.name)
    FROM public.courses co
    WHERE co.user_id = p_user_id AND p_query <% co.name
    ORDER BY word_similarity(p_query, co.name) DESC, co.name, co.course_id
    LIMIT p_limit;
    PERFORM set_config('pg_trgm.word_similarity_threshold', coalesce(caller_threshold, '0.6'), true);
END;
$$;

/**
 * Keywords whose term matches p_query, in one course or in every course the
 * caller can see, best match first, at most p_limit. Same matching and
 * threshold as search_courses(); served by the GIN index
 * idx_keywords_term_trgm.
 *
 * Bounded by check_search_arguments(). SECURITY INVOKER: row-level security
 * decides which keywords the caller sees.
 */
CREATE OR REPLACE FUNCTION public.search_keywords(
    p_query text,
    p_course_id uuid DEFAULT NULL,
    p_limit integer DEFAULT 20
)
RETURNS TABLE (
    keyword_id uuid,
    chapter_id uuid,
    course_id uuid,
    term character varying,
    definition text,
    relevance real
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    caller_threshold text := current_setting('pg_trgm.word_similarity_threshold', true);
BEGIN
    PERFORM public.check_search_arguments(p_query, p_limit);
    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);
    RETURN QUERY
    SELECT k.keyword_id, k.chapter_id, pd.course_id, k.term, k.definition,
           word_similarity(p_query, k.term)
    FROM public.keywords k
    JOIN public.chapters c ON c.chapter_id = k.chapter_id
    JOIN public.processed_documents pd ON pd.processed_id = c.processed_id
    WHERE p_query <% k.term AND (p_course_id IS NULL OR pd.course_id = p_course_id)
    ORDER BY word_similarity(p_query, k.term) DESC, k.term, k.keyword_id
    LIMIT p_limit;
    PERFORM set_config('pg_trgm.word_similarity_threshold', coalesce(caller_threshold, '0.6'), true);
END;
$$;
