/**
 * Cosine similarity of two embeddings: 1 for the same direction, 0 for
 * orthogonal, -1 for opposite. pgvector's <=> is the cosine distance, so this
 * is 1 - (a <=> b). NULL if either is NULL; refuses vectors of different
 * dimensions (pgvector's error).
 */
CREATE OR REPLACE FUNCTION public.cosine_similarity(a vector, b vector)
RETURNS double precision
LANGUAGE sql
IMMUTABLE
STRICT
PARALLEL SAFE
SECURITY INVOKER
SET search_path = pg_catalog, public
AS $$
    SELECT 1 - (a <=> b)
$$;

/**
 * The processed documents whose embedding is nearest to query_embedding by
 * cosine distance: at most match_count of them, those with a similarity of
 * at least min_similarity, most similar first.
 *
 * The inner query is the shape the HNSW index idx_processed_docs_embedding
 * answers (ORDER BY embedding <=> $1 LIMIT n); the similarity threshold is
 * applied to its result, since a filter on the distance would make the index
 * scan keep looking for rows that do not exist. Iterative scans
 * (pgvector 0.8, relaxed order, re-sorted outside) keep match_count rows
 * coming when row-level security filters out candidates.
 *
 * SECURITY INVOKER: row-level security decides which documents the caller sees.
 */
CREATE OR REPLACE FUNCTION public.find_similar_documents(
    query_embedding vector,
    match_count integer DEFAULT 10,
    min_similarity double precision DEFAULT 0.7
)
RETURNS TABLE (
    processed_id uuid,
    document_id uuid,
    course_id uuid,
    subject character varying,
    similarity double precision
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public
AS $$
DECLARE
    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);
    caller_ef_search text := current_setting('hnsw.ef_search', true);
BEGIN
    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
    PERFORM set_config('hnsw.ef_search', '100', true);
    RETURN QUERY
    SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,
           1 - nearest.distance
    FROM (
        SELECT pd.processed_id, pd.document_id, pd.course_id, pd.subject,
               pd.embedding <=> query_embedding AS distance
        FROM public.processed_documents pd
        ORDER BY pd.embedding <=> query_embedding
        LIMIT match_count
    ) AS nearest
    WHERE 1 - nearest.distance >= min_similarity
    ORDER BY nearest.distance, nearest.processed_id;
    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);
    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);
END;
$$;

/**
 * The keywords whose embedding is nearest to query_embedding by cosine
 * distance, optionally only those of one course: at most match_count, those
 * with a similarity of at least min_similarity, most similar first.
 *
 * Answered by the HNSW index idx_keywords_embedding. With a course filter a
 * plain HNSW scan would return only the course's keywords among the first
 * hnsw.ef_search candidates, often fewer than match_count; the iterative scan
 * (pgvector 0.8, relaxed order, re-sorted outside) keeps scanning the graph
 * until match_count keywords of the course are found or the graph is
 * exhausted (hnsw.max_scan_tuples). The course's chapters are computed once
 * (a hashed subplan), so each candidate costs one hash probe. The hnsw.*
 * settings are applied as in find_similar_documents().
 *
 * SECURITY INVOKER: row-level security decides which keywords the caller sees.
 */
CREATE OR REPLACE FUNCTION public.find_similar_keywords(
    query_embedding vector,
    match_count integer DEFAULT 10,
    min_similarity double precision DEFAULT 0.7,
    p_course_id uuid DEFAULT NULL
)
RETURNS TABLE (
    keyword_id uuid,
    chapter_id uuid,
    term character varying,
    definition text,
    similarity double precision
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, public
AS $$
DECLARE
    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);
    caller_ef_search text := current_setting('hnsw.ef_search', true);
BEGIN
    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
    PERFORM set_config('hnsw.ef_search', '100', true);
    RETURN QUERY
    SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,
           1 - nearest.distance
    FROM (
        SELECT k.keyword_id, k.chapter_id, k.term, k.definition,
               k.embedding <=> query_embedding AS distance
        FROM public.keywords k
        WHERE p_course_id IS NULL
           OR k.chapter_id IN (
               SELECT c.chapter_id
               FROM public.chapters c
               JOIN public.processed_documents pd ON pd.processed_id = c.processed_id
               WHERE pd.course_id = p_course_id
           )
        ORDER BY k.embedding <=> query_embedding
        LIMIT match_count
    ) AS nearest
    WHERE 1 - nearest.distance >= min_similarity
    ORDER BY nearest.distance, nearest.keyword_id;
    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);
    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);
END;
$$;
