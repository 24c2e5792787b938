/*
 * The worker's protocol for processing a document, safe under the queue's
 * at-least-once delivery and under several workers at once:
 *
 *   claim_document(document, worker, pipeline version)      -> claimed | already_*
 *     result_stored ? complete_document_from_cache(document, claim token)
 *                   : record_pipeline_result(document, claim token, result)
 *     on an error     record_processing_failure(document, claim token, error)
 *
 * claim_next_document() claims the oldest pending (or abandoned) document
 * instead of a named one. Bad input is refused with a message naming the rule
 * (the error's CONSTRAINT field), and, the call being one statement, nothing
 * is written.
 *
 * The protocol is the only way the worker (sensa_worker) changes anything:
 * it may read documents and results, but it holds no write on
 * document_claims, course_documents or the concept-map tables. The five
 * calls above are SECURITY DEFINER, owned by sensa_pipeline, which holds those
 * writes, and EXECUTE on them is the worker's only way in. So a result lands
 * only in the document its live claim names, made from the content that
 * claim names (its cache_key, computed here from the document's hash), and a
 * worker's login cannot write a claim, move a document's status or move
 * concept-map rows under another learner. The helpers
 * (check_claim_arguments(), require_document_claim(),
 * check_pipeline_result_shape(), materialize_pipeline_result()) run as their
 * caller, sensa_pipeline inside the calls, and nobody else may execute them.
 * The definers name every relation and type with its schema and list pg_temp
 * last (docs/SECURITY.md, "Definers").
 */

/**
 * Refuses claim arguments that could never make a usable claim: a blank
 * worker id (rule worker_id_not_blank), a blank pipeline version (rule
 * pipeline_version_not_blank: the cache key would name no version) and a
 * lease of less than one second (rule lease_seconds_positive).
 */
CREATE OR REPLACE FUNCTION public.check_claim_arguments(
    p_worker_id text,
    p_pipeline_version text,
    p_lease_seconds integer
)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF coalesce(btrim(p_worker_id), '') = '' THEN
        RAISE EXCEPTION 'a claim needs a worker id (rule worker_id_not_blank)'
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'worker_id_not_blank';
    END IF;
    IF coalesce(btrim(p_pipeline_version), '') = '' THEN
        RAISE EXCEPTION 'a claim needs a pipeline version (rule pipeline_version_not_blank)'
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'pipeline_version_not_blank';
    END IF;
    IF p_lease_seconds IS NULL OR p_lease_seconds < 1 THEN
        RAISE EXCEPTION 'a claim needs a lease of at least one second, not % (rule lease_seconds_positive)',
            p_lease_seconds
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'lease_seconds_positive';
    END IF;
END;
$$;

/**
 * Gives document p_document_id to worker p_worker_id for processing under
 * pipeline version p_pipeline_version, for p_lease_seconds. The outcome says
 * what to do:
 *
 * - claimed: process it; only claim_token may record the result or the
 *   failure. result_stored says the pipeline already processed this content
 *   under this version (cache_key): complete_document_from_cache() then makes
 *   the concept map without running it. A pending document moves to
 *   processing; a processing one whose lease expired (its worker died) is
 *   taken over with a new token, and attempts counts the takeovers.
 * - already_claimed: another worker holds a live lease (lease_expires_at).
 * - already_done: the document is completed.
 * - already_failed: the document failed; the API sets it pending to retry.
 *
 * The document's row is locked first, so two workers claiming it at once
 * queue for a moment and the second sees the first's claim: never two
 * claims, never a constraint error. An unknown document is refused (rule
 * document_exists), as are bad arguments (check_claim_arguments()).
 *
 * SECURITY DEFINER, as sensa_pipeline (see the top of this file), so that
 * the worker claims without holding writes on claims or documents. It
 * cannot leak rows: it returns one document's location and its own claim.
 */
CREATE OR REPLACE FUNCTION public.claim_document(
    p_document_id uuid,
    p_worker_id text,
    p_pipeline_version text,
    p_lease_seconds integer DEFAULT 900
)
RETURNS TABLE (
    outcome text,
    claim_token uuid,
    cache_key text,
    result_stored boolean,
    s3_bucket character varying,
    s3_key character varying,
    lease_expires_at timestamp with time zone
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    document public.course_documents%ROWTYPE;
    claim public.document_claims%ROWTYPE;
    key text;
    takeover boolean := false;
BEGIN
    PERFORM public.check_claim_arguments(p_worker_id, p_pipeline_version, p_lease_seconds);

    SELECT d.* INTO document
    FROM public.course_documents d
    WHERE d.document_id = p_document_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no course document % (rule document_exists)', p_document_id
            USING ERRCODE = 'no_data_found', CONSTRAINT = 'document_exists';
    END IF;
    key := public.generate_cache_key(document.sha256_hash, p_pipeline_version);

    CASE document.processing_status
        WHEN 'completed' THEN
            RETURN QUERY SELECT 'already_done', NULL::uuid, key, NULL::boolean,
                document.s3_bucket, document.s3_key, NULL::timestamptz;
            RETURN;
        WHEN 'failed' THEN
            RETURN QUERY SELECT 'already_failed', NULL::uuid, key, NULL::boolean,
                document.s3_bucket, document.s3_key, NULL::timestamptz;
            RETURN;
        WHEN 'processing' THEN
            SELECT c.* INTO claim
            FROM public.document_claims c
            WHERE c.document_id = p_document_id;
            IF FOUND AND claim.lease_expires_at > now() THEN
                RETURN QUERY SELECT 'already_claimed', NULL::uuid, claim.cache_key::text,
                    NULL::boolean, document.s3_bucket, document.s3_key, claim.lease_expires_at;
                RETURN;
            END IF;
            -- No live lease: its worker died (or the document was moved to
            -- processing outside this protocol). Take it over.
            takeover := true;
        ELSE
            UPDATE public.course_documents d
            SET processing_status = 'processing'
            WHERE d.document_id = p_document_id;
    END CASE;

    INSERT INTO public.document_claims AS c (
        document_id, worker_id, pipeline_version, cache_key, claimed_at, lease_expires_at
    )
    VALUES (
        p_document_id, p_worker_id, p_pipeline_version, key, now(),
        now() + make_interval(secs => p_lease_seconds)
    )
    ON CONFLICT (document_id) DO UPDATE
    SET claim_token = gen_random_uuid(),
        worker_id = EXCLUDED.worker_id,
        pipeline_version = EXCLUDED.pipeline_version,
        cache_key = EXCLUDED.cache_key,
        claimed_at = EXCLUDED.claimed_at,
        lease_expires_at = EXCLUDED.lease_expires_at,
        attempts = CASE WHEN takeover THEN c.attempts + 1 ELSE 1 END
    RETURNING c.* INTO claim;

    RETURN QUERY SELECT 'claimed', claim.claim_token, key,
        EXISTS (SELECT FROM public.pipeline_results r WHERE r.cache_key = key),
        document.s3_bucket, document.s3_key, claim.lease_expires_at;
END;
$$;

/**
 * Claims the oldest document that needs a worker, for a worker polling
 * rather than handed a document: pending ones, and processing ones whose
 * lease expired (so a dead worker's document is never left stuck). Rows
 * other workers are claiming are skipped (SKIP LOCKED), so any number of
 * workers poll at once without waiting on each other or taking the same
 * document. Returns the document and its claim, or no row when nothing is
 * waiting. A row another worker claimed and committed while this statement
 * ran can still pass its WHERE (the recheck of a locked row reads the claims
 * as the statement's snapshot saw them): claim_document() then answers
 * already_claimed, and the poll moves on to the next document instead of
 * handing that answer to a worker that asked for work.
 *
 * SECURITY DEFINER, as sensa_pipeline, like claim_document(). It
 * cannot leak rows: it returns the one document it claimed and its claim.
 */
CREATE OR REPLACE FUNCTION public.claim_next_document(
    p_worker_id text,
    p_pipeline_version text,
    p_lease_seconds integer DEFAULT 900
)
RETURNS TABLE (
    document_id uuid,
    outcome text,
    claim_token uuid,
    cache_key text,
    result_stored boolean,
    s3_bucket character varying,
    s3_key character varying,
    lease_expires_at timestamp with time zone
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    candidate uuid;
    passed_over uuid[] := ARRAY[]::uuid[];
BEGIN
    PERFORM public.check_claim_arguments(p_worker_id, p_pipeline_version, p_lease_seconds);

    LOOP
        SELECT d.document_id INTO candidate
        FROM public.course_documents d
        LEFT JOIN public.document_claims c ON c.document_id = d.document_id
        WHERE (d.processing_status = 'pending'
                OR (d.processing_status = 'processing'
                    AND (c.document_id IS NULL OR c.lease_expires_at <= now())))
            AND d.document_id <> ALL (passed_over)
        ORDER BY d.upload_date, d.document_id
        LIMIT 1
        FOR NO KEY UPDATE OF d SKIP LOCKED;
        IF candidate IS NULL THEN
            RETURN;
        END IF;

        SELECT claimed.outcome, claimed.claim_token, claimed.cache_key, claimed.result_stored,
            claimed.s3_bucket, claimed.s3_key, claimed.lease_expires_at
        INTO outcome, claim_token, cache_key, result_stored, s3_bucket, s3_key, lease_expires_at
        FROM public.claim_document(candidate, p_worker_id, p_pipeline_version, p_lease_seconds)
            AS claimed;
        IF outcome = 'claimed' THEN
            document_id := candidate;
            RETURN NEXT;
            RETURN;
        END IF;
        passed_over := passed_over || candidate;
    END LOOP;
END;
$$;

/**
 * The live claim of document p_document_id under p_claim_token, locked, or
 * an error (rule document_claim_required): a result or failure may be
 * recorded only by the worker holding the document's current claim. A
 * worker whose lease expired keeps its claim until another worker takes the
 * document over; after that its token is refused. The document's row is
 * locked before the claim's, in claim_document()'s order, so the two never
 * deadlock.
 */
CREATE OR REPLACE FUNCTION public.require_document_claim(p_document_id uuid, p_claim_token uuid)
RETURNS public.document_claims
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    claim public.document_claims%ROWTYPE;
BEGIN
    PERFORM FROM public.course_documents d WHERE d.document_id = p_document_id FOR NO KEY UPDATE;
    SELECT c.* INTO claim
    FROM public.document_claims c
    WHERE c.document_id = p_document_id AND c.claim_token = p_claim_token
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % is not claimed under this claim token (rule document_claim_required)',
            p_document_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  CONSTRAINT = 'document_claim_required',
                  HINT = 'claim it with claim_document() first; an expired claim may have been taken over by another worker';
    END IF;
    RETURN claim;
END;
$$;

/**
 * Refuses a pipeline result that cannot be made into a concept map (rule
 * pipeline_result_shape): concept_map must be a JSON object and chapters an
 * array of objects, each with a numeric chapter_number and a title, and,
 * when present, arrays of keywords (each with a term and a definition) and
 * of relationships (each with a source, a target and a type).
 */
CREATE OR REPLACE FUNCTION public.check_pipeline_result_shape(p_concept_map jsonb, p_chapters jsonb)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    problem text;
BEGIN
    problem := CASE
        WHEN jsonb_typeof(p_concept_map) IS DISTINCT FROM 'object' THEN
            'concept_map must be a JSON object'
        WHEN jsonb_typeof(p_chapters) IS DISTINCT FROM 'array' THEN
            'chapters must be a JSON array'
    END;
    IF problem IS NULL THEN
        SELECT format('chapter %s of the result %s', checked.position, checked.issue)
        INTO problem
        FROM (
            SELECT ch.position, CASE
                WHEN jsonb_typeof(ch.value) <> 'object' THEN 'is not a JSON object'
                WHEN jsonb_typeof(ch.value -> 'chapter_number') IS DISTINCT FROM 'number' THEN
                    'needs a numeric chapter_number'
                WHEN coalesce(btrim(ch.value ->> 'title'), '') = '' THEN 'needs a title'
                WHEN jsonb_typeof(coalesce(ch.value -> 'keywords', '[]')) <> 'array' THEN
                    'has keywords that are not an array'
                WHEN jsonb_typeof(coalesce(ch.value -> 'relationships', '[]')) <> 'array' THEN
                    'has relationships that are not an array'
                WHEN EXISTS (
                    SELECT FROM jsonb_array_elements(ch.value -> 'keywords') k
                    WHERE coalesce(btrim(k ->> 'term'), '') = '' OR k ->> 'definition' IS NULL
                ) THEN 'has a keyword without a term or a definition'
                WHEN EXISTS (
                    SELECT FROM jsonb_array_elements(ch.value -> 'relationships') r
                    WHERE r ->> 'source' IS NULL OR r ->> 'target' IS NULL OR r ->> 'type' IS NULL
                ) THEN 'has a relationship without a source, a target or a type'
            END AS issue
            FROM jsonb_array_elements(p_chapters) WITH ORDINALITY AS ch(value, position)
        ) AS checked
        WHERE checked.issue IS NOT NULL
        ORDER BY checked.position
        LIMIT 1;
    END IF;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '% (rule pipeline_result_shape)', problem
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'pipeline_result_shape';
    END IF;
END;
$$;

/**
 * Makes document p_document_id's own concept map from the pipeline result
 * stored under p_cache_key, without running the pipeline: its processed
 * document (replacing any earlier one), a chapter per result chapter, their
 * keywords (an embedding given as a JSON array), their relationships (source
 * and target are keyword terms, the target in chapter target_chapter when
 * given, else the same chapter) and the complexity of every chapter that has
 * a level. The owner-stamping triggers give every row the document's owner,
 * so each learner's copy is theirs alone. Refuses a key with no stored
 * result (rule pipeline_result_stored) and a relationship naming a term its
 * chapter lacks (rule pipeline_result_shape). Returns the processed_id.
 */
CREATE OR REPLACE FUNCTION public.materialize_pipeline_result(p_document_id uuid, p_cache_key text)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    stored public.pipeline_results%ROWTYPE;
    document public.course_documents%ROWTYPE;
    made uuid;
    expected bigint;
    related bigint;
BEGIN
    SELECT r.* INTO stored FROM public.pipeline_results r WHERE r.cache_key = p_cache_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no stored pipeline result under cache key % (rule pipeline_result_stored)',
            p_cache_key
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  CONSTRAINT = 'pipeline_result_stored',
                  HINT = 'record the pipeline''s output with record_pipeline_result()';
    END IF;
    SELECT d.* INTO STRICT document FROM public.course_documents d WHERE d.document_id = p_document_id;

    DELETE FROM public.processed_documents pd WHERE pd.document_id = p_document_id;
    INSERT INTO public.processed_documents AS pd (
        document_id, course_id, concept_map, pipeline_version, subject, embedding, cache_key
    )
    VALUES (
        document.document_id, document.course_id, stored.concept_map, stored.pipeline_version,
        stored.subject, stored.embedding, stored.cache_key
    )
    RETURNING pd.processed_id INTO made;

    INSERT INTO public.chapters (
        processed_id, chapter_number, title, summary, exam_relevance_score, complexity_score,
        complexity_level, estimated_time_minutes
    )
    SELECT made, (ch ->> 'chapter_number')::integer, ch ->> 'title', ch ->> 'summary',
        (ch ->> 'exam_relevance_score')::integer, (ch ->> 'complexity_score')::integer,
        (ch ->> 'complexity_level')::public.complexity_level_enum,
        (ch ->> 'estimated_time_minutes')::integer
    FROM jsonb_array_elements(stored.chapters) AS ch;

    INSERT INTO public.keywords (
        chapter_id, term, definition, context, is_primary, exam_relevant, embedding
    )
    SELECT c.chapter_id, k ->> 'term', k ->> 'definition', k ->> 'context',
        coalesce((k ->> 'is_primary')::boolean, false),
        coalesce((k ->> 'exam_relevant')::boolean, false),
        (k ->> 'embedding')::public.vector
    FROM jsonb_array_elements(stored.chapters) AS ch
    JOIN public.chapters c
        ON c.processed_id = made AND c.chapter_number = (ch ->> 'chapter_number')::integer
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(ch -> 'keywords', '[]')) AS k;

    SELECT count(*) INTO expected
    FROM jsonb_array_elements(stored.chapters) AS ch,
        jsonb_array_elements(coalesce(ch -> 'relationships', '[]')) AS rel;
    INSERT INTO public.relationships (
        chapter_id, source_keyword_id, target_keyword_id, relationship_type, is_cross_chapter,
        strength
    )
    SELECT c.chapter_id, source.keyword_id, target.keyword_id, rel ->> 'type',
        target_chapter.chapter_id <> c.chapter_id, (rel ->> 'strength')::numeric
    FROM jsonb_array_elements(stored.chapters) AS ch
    JOIN public.chapters c
        ON c.processed_id = made AND c.chapter_number = (ch ->> 'chapter_number')::integer
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(ch -> 'relationships', '[]')) AS rel
    JOIN public.chapters target_chapter
        ON target_chapter.processed_id = made
        AND target_chapter.chapter_number
            = coalesce((rel ->> 'target_chapter')::integer, c.chapter_number)
    CROSS JOIN LATERAL (
        SELECT k.keyword_id FROM public.keywords k
        WHERE k.chapter_id = c.chapter_id AND k.term = rel ->> 'source'
        ORDER BY k.keyword_id LIMIT 1
    ) AS source
    CROSS JOIN LATERAL (
        SELECT k.keyword_id FROM public.keywords k
        WHERE k.chapter_id = target_chapter.chapter_id AND k.term = rel ->> 'target'
        ORDER BY k.keyword_id LIMIT 1
    ) AS target;
    GET DIAGNOSTICS related = ROW_COUNT;
    IF related <> expected THEN
        RAISE EXCEPTION 'a relationship of the result names a term its chapter does not have (rule pipeline_result_shape)'
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'pipeline_result_shape';
    END IF;

    INSERT INTO public.chapter_complexity (chapter_id, complexity_level, complexity_score)
    SELECT c.chapter_id, c.complexity_level, c.complexity_score
    FROM public.chapters c
    WHERE c.processed_id = made AND c.complexity_level IS NOT NULL;

    RETURN made;
END;
$$;

/**
 * Completes a claimed document from the result stored for its content and
 * pipeline version (claim_document() said result_stored): makes its concept
 * map (materialize_pipeline_result()), moves it to completed and ends the
 * claim. Only the claim's holder may (rule document_claim_required).
 * Returns the new processed_id.
 *
 * SECURITY DEFINER, as sensa_pipeline: the worker holds no write on the
 * concept-map tables. It cannot leak rows: it returns the new processed_id.
 */
CREATE OR REPLACE FUNCTION public.complete_document_from_cache(
    p_document_id uuid,
    p_claim_token uuid
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    claim public.document_claims%ROWTYPE := public.require_document_claim(p_document_id, p_claim_token);
    made uuid;
BEGIN
    made := public.materialize_pipeline_result(p_document_id, claim.cache_key);
    UPDATE public.course_documents d
    SET processing_status = 'completed'
    WHERE d.document_id = p_document_id;
    DELETE FROM public.document_claims c WHERE c.document_id = p_document_id;
    RETURN made;
END;
$$;

/**
 * Records what the pipeline made of a claimed document (the claim's holder
 * only, rule document_claim_required; a well-formed result only, rule
 * pipeline_result_shape) and completes the document from it. The result is
 * stored once per content and pipeline version: when another worker stored
 * one for the same cache key first (two learners' copies of one PDF
 * processed at once), that one is kept and used, the content being the
 * same. Returns the new processed_id.
 *
 * SECURITY DEFINER, as sensa_pipeline: the worker holds no write on
 * pipeline_results or the concept-map tables. It cannot leak rows: it
 * returns the new processed_id.
 */
CREATE OR REPLACE FUNCTION public.record_pipeline_result(
    p_document_id uuid,
    p_claim_token uuid,
    p_concept_map jsonb,
    p_chapters jsonb,
    p_subject text DEFAULT NULL,
    p_embedding vector DEFAULT NULL
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    claim public.document_claims%ROWTYPE := public.require_document_claim(p_document_id, p_claim_token);
BEGIN
    PERFORM public.check_pipeline_result_shape(p_concept_map, p_chapters);
    INSERT INTO public.pipeline_results (
        cache_key, sha256_hash, pipeline_version, concept_map, subject, embedding, chapters
    )
    SELECT claim.cache_key, d.sha256_hash, claim.pipeline_version, p_concept_map, p_subject,
        p_embedding, p_chapters
    FROM public.course_documents d
    WHERE d.document_id = p_document_id
    ON CONFLICT ON CONSTRAINT unique_pipeline_result_cache_key DO NOTHING;
    RETURN public.complete_document_from_cache(p_document_id, p_claim_token);
END;
$$;

/**
 * Records that processing a claimed document failed, with the error the
 * worker saw (rule processing_error_not_blank): the document moves to failed,
 * where the API can send it back to pending for a retry, and the claim ends.
 * Only the claim's holder may (rule document_claim_required).
 *
 * SECURITY DEFINER, as sensa_pipeline: the worker holds no write on the
 * document or its claim. It cannot leak rows: it returns nothing.
 */
CREATE OR REPLACE FUNCTION public.record_processing_failure(
    p_document_id uuid,
    p_claim_token uuid,
    p_error text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF coalesce(btrim(p_error), '') = '' THEN
        RAISE EXCEPTION 'a processing failure needs the error (rule processing_error_not_blank)'
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'processing_error_not_blank';
    END IF;
    PERFORM public.require_document_claim(p_document_id, p_claim_token);
    UPDATE public.course_documents d
    SET processing_status = 'failed', error_message = p_error
    WHERE d.document_id = p_document_id;
    DELETE FROM public.document_claims c WHERE c.document_id = p_document_id;
END;
$$;
