/**
 * The document of course p_course_id with content hash p_sha256, if one was
 * uploaded already: the API calls this before storing an upload, so the
 * same PDF is not processed twice in one course (unique_hash_per_course
 * would refuse the second row anyway). Returns the document, its processing
 * status and, once processed, its processed document and cache key. The hash
 * is compared in lower case, the form course_documents stores; the lookup is
 * the unique index (course_id, sha256_hash).
 *
 * SECURITY INVOKER: row-level security decides which documents the caller sees.
 */
CREATE OR REPLACE FUNCTION public.find_duplicate_document(p_course_id uuid, p_sha256 text)
RETURNS TABLE (
    document_id uuid,
    processing_status public.processing_status_enum,
    processed_id uuid,
    cache_key character varying,
    upload_date timestamp with time zone
)
LANGUAGE sql
STABLE
STRICT
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT d.document_id, d.processing_status, pd.processed_id, pd.cache_key, d.upload_date
    FROM public.course_documents d
    LEFT JOIN public.processed_documents pd ON pd.document_id = d.document_id
    WHERE d.course_id = p_course_id AND d.sha256_hash = lower(p_sha256)::character(64)
$$;

/**
 * The processed_documents.cache_key of a PDF's content under a pipeline
 * version: '<sha256 in lower case>:<pipeline_version>'. Deterministic, so
 * the worker computes it before processing and reuses the concept map of an
 * identical PDF processed by the same pipeline version; a new version gives
 * a new key. Refuses (SQLSTATE 22023) a hash that is not 64 hex digits (rule
 * cache_key_sha256_hex) and a blank version (rule pipeline_version_not_blank),
 * which would make keys that can never match; the error's CONSTRAINT field
 * names the rule.
 */
CREATE OR REPLACE FUNCTION public.generate_cache_key(p_sha256 text, p_pipeline_version text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
STRICT
PARALLEL SAFE
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF p_sha256 !~ '^[0-9A-Fa-f]{64}$' THEN
        RAISE EXCEPTION 'a cache key needs a SHA-256 of 64 hex digits, not % (rule cache_key_sha256_hex)',
            quote_literal(p_sha256)
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'cache_key_sha256_hex';
    END IF;
    IF btrim(p_pipeline_version) = '' THEN
        RAISE EXCEPTION 'a cache key needs a pipeline version (rule pipeline_version_not_blank)'
            USING ERRCODE = 'invalid_parameter_value', CONSTRAINT = 'pipeline_version_not_blank';
    END IF;
    RETURN lower(p_sha256) || ':' || p_pipeline_version;
END;
$$;
