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
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT 1 - (a <=> b)
$$;

/**
 * Refuses the arguments of a similarity search that it cannot answer
 * meaningfully, naming the rule broken (SQLSTATE 22023 unless said):
 *
 * - match_count_within_limit: match_count from 1 to 100. NULL would be no
 *   LIMIT at all (every row, and through the HNSW index an iterative scan up
 *   to hnsw.max_scan_tuples); a page of search results is tens of rows, and
 *   100 keeps the global search's 2 x match_count candidates within what one
 *   iterative scan returns cheaply.
 * - query_embedding_dimensions (SQLSTATE 22000, as pgvector's own): the
 *   embeddings' 768 dimensions. pgvector refuses another count too, but with
 *   a message that depends on which operation meets the query first.
 * - query_embedding_not_zero: a query of length 0 has no direction: its
 *   cosine distance to every row is NaN, which PostgreSQL orders after every
 *   number and compares as greater, so min_similarity let every row through
 *   with a similarity of NaN.
 *
 * A NULL query_embedding passes: it matches no row (its distances are NULL).
 * find_similar_documents() and find_similar_keywords() call it first.
 */
CREATE OR REPLACE FUNCTION public.check_similarity_search(query_embedding vector, match_count integer)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF match_count IS NULL OR match_count < 1 OR match_count > 100 THEN
        RAISE EXCEPTION 'match_count must be from 1 to 100, not % (rule match_count_within_limit)',
            coalesce(match_count::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'match_count_within_limit';
    END IF;
    IF public.vector_dims(query_embedding) <> 768 THEN
        RAISE EXCEPTION 'a query embedding needs 768 dimensions, not % (rule query_embedding_dimensions)',
            public.vector_dims(query_embedding)
            USING ERRCODE = 'data_exception', CONSTRAINT = 'query_embedding_dimensions';
    END IF;
    IF public.vector_norm(query_embedding) = 0 THEN
        RAISE EXCEPTION 'a query embedding of length 0 has no direction to compare (rule query_embedding_not_zero)'
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'query_embedding_not_zero';
    END IF;
END;
$$;

/**
 * The processed documents whose embedding is nearest to query_embedding by
 * cosine distance: at most match_count of them, those with a similarity of
 * at least min_similarity, most similar first. The similarity returned is
 * the exact one (the same as cosine_similarity()). Arguments it cannot
 * answer are refused by check_similarity_search().
 *
 * A learner (a request context, current_learner_id()) searches their own
 * documents, a hundred or so: an exact scan of them in full precision, always
 * their true nearest and always match_count rows when they have that many.
 * The filter on user_id is processed_document_isolation_select's, repeated so
 * that the branch searches the named learner's documents whatever else the
 * caller may see (an admin_role session that names one: the benchmark's
 * baseline). Ordering these rows by the
 * index's half-precision expression instead, as the global search does, cast
 * every row: 2.9 ms against 0.36 ms for 216 documents, with pgvector built
 * portable (OPTFLAGS="", converting to half precision in software); F16C
 * instructions make the cast cheaper but not free (docs/BENCHMARKS.md).
 *
 * Everyone else (the worker, staff) searches every document: the inner query
 * is the shape the HNSW index idx_processed_docs_embedding answers, ORDER BY
 * the half-precision expression it is built on
 * (embedding::halfvec(768) <=> $1::halfvec(768)) LIMIT n. Half precision
 * only picks the candidates, twice match_count of them: their distance is
 * computed again over the full-precision vectors, and the answer is ranked
 * and filtered by that. The similarity threshold is applied to the
 * candidates, since a filter on the distance would make the index scan keep
 * looking for rows that do not exist. Iterative scans (pgvector 0.8, relaxed
 * order, re-sorted outside) keep match_count rows coming when row-level
 * security filters out candidates, and return the candidates beyond
 * hnsw.ef_search that a match_count over 32 asks for.
 *
 * hnsw.ef_search 64: the search's p95 target is 5 ms, and at 100 the index
 * scan alone took 5.5 ms at p95 over 100,000 documents on the benchmark's
 * 2-core machine (idle), 3.9 ms at 64. Recall@10 at 64: 0.975 (documents)
 * and 0.980 (keywords) on that synthetic set, 0.9925 and 0.9900 on 30,000
 * real sentence embeddings; at 100: 0.980 and 0.995, 0.9950 and 0.9970
 * (docs/BENCHMARKS.md).
 * Past a few hundred thousand documents recall falls at any ef_search with
 * the design's graph (m 16): 0.66 at 1,000,000. Of the remedies measured
 * there only smaller graphs, one per subject, reached 0.95 within 10 ms; a
 * wider search, a denser graph and binary quantization did not
 * (docs/BENCHMARKS.md, docs/SCALING.md).
 *
 * plan_cache_mode = force_generic_plan: each query is planned once per
 * session and its plan reused. By default PL/pgSQL planned the global query
 * anew at every call, because its generic plan (LIMIT unknown, costed as a
 * tenth of the table) looked dearer than a custom one: 0.1 to 0.2 ms of
 * server time per call on the benchmark's data, most of what the function
 * cost beyond the index scan (docs/BENCHMARKS.md). Two things follow from
 * the generic plan. The query is converted to half precision once, in a
 * sub-select (an InitPlan): a custom plan folded the cast into a constant, a
 * generic one would cast it again for every row an exact scan reads. And
 * enable_seqscan = off: costed for a tenth of the table, a sort of every
 * embedding looked cheaper than the HNSW scan on small tables (2,400
 * keywords) and took about ten times as long (every row cast to half
 * precision);
 * each query of these functions has an index that serves it at any size
 * (tests/test_vector_plans.py). The hnsw.* settings are
 * set in the body and the caller's values restored: as SET clauses of the
 * function they would need pgvector's library loaded before CREATE FUNCTION
 * by a role that is not a superuser (a migration, a restore).
 *
 * jit = off: the same generic plan, costed for a tenth of the table, passes
 * jit_above_cost (100,000, PostgreSQL's default) from a few hundred thousand
 * rows, and PostgreSQL then compiled the query's expressions at every call:
 * 8 ms of a 16 ms search at 1,000,000 documents, for a query that reads
 * twice match_count rows (docs/BENCHMARKS.md).
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
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET jit = off
AS $$
DECLARE
    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);
    caller_ef_search text := current_setting('hnsw.ef_search', true);
BEGIN
    PERFORM public.check_similarity_search(query_embedding, match_count);
    IF public.current_learner_id() IS NULL THEN
        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
        PERFORM set_config('hnsw.ef_search', '64', true);
        RETURN QUERY
        SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,
               1 - nearest.distance
        FROM (
            SELECT pd.processed_id, pd.document_id, pd.course_id, pd.subject,
                   pd.embedding <=> query_embedding AS distance
            FROM public.processed_documents pd
            ORDER BY pd.embedding::halfvec(768) <=> (SELECT query_embedding::halfvec(768))
            LIMIT 2 * match_count
        ) AS nearest
        WHERE 1 - nearest.distance >= min_similarity
        ORDER BY nearest.distance, nearest.processed_id
        LIMIT match_count;
        PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);
        PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);
    ELSE
        RETURN QUERY
        SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,
               1 - nearest.distance
        FROM (
            SELECT pd.processed_id, pd.document_id, pd.course_id, pd.subject,
                   pd.embedding <=> query_embedding AS distance
            FROM public.processed_documents pd
            WHERE pd.user_id = public.current_learner_id()
            ORDER BY distance, pd.processed_id
            LIMIT match_count
        ) AS nearest
        WHERE 1 - nearest.distance >= min_similarity
        ORDER BY nearest.distance, nearest.processed_id;
    END IF;
END;
$$;

/**
 * The keywords whose embedding is nearest to query_embedding by cosine
 * distance, optionally only those of one course: at most match_count, those
 * with a similarity of at least min_similarity, most similar first.
 * Arguments it cannot answer are refused by check_similarity_search().
 *
 * With a course: an exact scan of the course's keywords (its processed
 * documents, their chapters, their keywords, each through its index). A
 * course holds tens to a few thousand keywords, so this is cheap, and it is
 * exact: always the course's true nearest keywords, and always match_count of
 * them when the course has that many. The HNSW graph cannot promise either:
 * filtered to one course among thousands, even an iterative scan ended
 * short of 10 rows in 0.5% of the benchmark's queries, after scanning up to
 * hnsw.max_scan_tuples at 10 to 60 ms. The MATERIALIZED fence keeps the
 * planner from ordering the course's rows through the HNSW index again.
 *
 * Without a course, for a learner: an exact scan of their own keywords in
 * full precision, filtered as in find_similar_documents().
 *
 * Without a course, for everyone else: the HNSW index idx_keywords_embedding
 * over the half-precision expression, with the iterative scan (pgvector 0.8,
 * relaxed order, re-sorted outside) so that the rows row-level security
 * filters out do not leave the answer short; the candidates, the
 * full-precision re-ranking, the hnsw.* settings, the plan reused for the
 * session and JIT turned off are as in find_similar_documents().
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
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET jit = off
AS $$
DECLARE
    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);
    caller_ef_search text := current_setting('hnsw.ef_search', true);
BEGIN
    PERFORM public.check_similarity_search(query_embedding, match_count);
    IF p_course_id IS NULL AND public.current_learner_id() IS NULL THEN
        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
        PERFORM set_config('hnsw.ef_search', '64', true);
        RETURN QUERY
        SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,
               1 - nearest.distance
        FROM (
            SELECT k.keyword_id, k.chapter_id, k.term, k.definition,
                   k.embedding <=> query_embedding AS distance
            FROM public.keywords k
            ORDER BY k.embedding::halfvec(768) <=> (SELECT query_embedding::halfvec(768))
            LIMIT 2 * match_count
        ) AS nearest
        WHERE 1 - nearest.distance >= min_similarity
        ORDER BY nearest.distance, nearest.keyword_id
        LIMIT match_count;
        PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);
        PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);
    ELSIF p_course_id IS NULL THEN
        RETURN QUERY
        SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,
               1 - nearest.distance
        FROM (
            SELECT k.keyword_id, k.chapter_id, k.term, k.definition,
                   k.embedding <=> query_embedding AS distance
            FROM public.keywords k
            WHERE k.user_id = public.current_learner_id()
            ORDER BY distance, k.keyword_id
            LIMIT match_count
        ) AS nearest
        WHERE 1 - nearest.distance >= min_similarity
        ORDER BY nearest.distance, nearest.keyword_id;
    ELSE
        RETURN QUERY
        WITH course_keywords AS MATERIALIZED (
            SELECT k.keyword_id, k.chapter_id, k.term, k.definition,
                   k.embedding <=> query_embedding AS distance
            FROM public.processed_documents pd
            JOIN public.chapters c ON c.processed_id = pd.processed_id
            JOIN public.keywords k ON k.chapter_id = c.chapter_id
            WHERE pd.course_id = p_course_id AND k.embedding IS NOT NULL
        )
        SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,
               1 - nearest.distance
        FROM (
            SELECT * FROM course_keywords ck
            ORDER BY ck.distance, ck.keyword_id
            LIMIT match_count
        ) AS nearest
        WHERE 1 - nearest.distance >= min_similarity
        ORDER BY nearest.distance, nearest.keyword_id;
    END IF;
END;
$$;
