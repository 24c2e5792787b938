"""utility functions: similarity search, statistics, feedback, trigram search, deduplication

Written by autogenerate from sensa_db/functions/*.sql; the SQL is inlined so
that this revision replays identically whatever the package becomes.

Revision ID: f0887d54cde3
Revises: 3a58bece9e60
Create Date: 2026-11-22 02:20:51.496352+00:00

"""

from collections.abc import Sequence

from alembic import op
from alembic_utils.pg_function import PGFunction
from sqlalchemy import text as sql_text

revision: str = "f0887d54cde3"
down_revision: str | Sequence[str] | None = "3a58bece9e60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    public_find_duplicate_document = PGFunction(
        schema="public",
        signature="find_duplicate_document(p_course_id uuid, p_sha256 text)",
        definition="returns TABLE (\n    document_id uuid,\n    processing_status public.processing_status_enum,\n    processed_id uuid,\n    cache_key character varying,\n    upload_date timestamp with time zone\n)\nLANGUAGE sql\nSTABLE\nSTRICT\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT d.document_id, d.processing_status, pd.processed_id, pd.cache_key, d.upload_date\n    FROM public.course_documents d\n    LEFT JOIN public.processed_documents pd ON pd.document_id = d.document_id\n    WHERE d.course_id = p_course_id AND d.sha256_hash = lower(p_sha256)::character(64)\n$$",
    )
    op.create_entity(public_find_duplicate_document)

    public_generate_cache_key = PGFunction(
        schema="public",
        signature="generate_cache_key(p_sha256 text, p_pipeline_version text)",
        definition="returns text\nLANGUAGE plpgsql\nIMMUTABLE\nSTRICT\nPARALLEL SAFE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    IF p_sha256 !~ '^[0-9A-Fa-f]{64}$' THEN\n        RAISE EXCEPTION 'a cache key needs a SHA-256 of 64 hex digits, not %', quote_literal(p_sha256)\n            USING ERRCODE = 'invalid_parameter_value';\n    END IF;\n    IF btrim(p_pipeline_version) = '' THEN\n        RAISE EXCEPTION 'a cache key needs a pipeline version'\n            USING ERRCODE = 'invalid_parameter_value';\n    END IF;\n    RETURN lower(p_sha256) || '\\:' || p_pipeline_version;\nEND;\n$$",
    )
    op.create_entity(public_generate_cache_key)

    public_get_pending_consensus = PGFunction(
        schema="public",
        signature="get_pending_consensus(p_min_users integer DEFAULT 3)",
        definition="returns TABLE (\n    course_id uuid,\n    feedback_type public.feedback_type_enum,\n    rating integer,\n    learner_count integer,\n    annotation_ids uuid[],\n    first_submitted_at timestamp with time zone,\n    last_submitted_at timestamp with time zone\n)\nLANGUAGE sql\nSTABLE\nSTRICT\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        ua.course_id,\n        ua.feedback_type,\n        ua.rating,\n        count(DISTINCT ua.user_id)::integer,\n        array_agg(ua.annotation_id ORDER BY ua.submitted_at, ua.annotation_id),\n        min(ua.submitted_at),\n        max(ua.submitted_at)\n    FROM public.user_annotations ua\n    WHERE NOT ua.processed AND ua.rating IS NOT NULL\n    GROUP BY ua.course_id, ua.feedback_type, ua.rating\n    HAVING count(DISTINCT ua.user_id) >= p_min_users\n    ORDER BY count(DISTINCT ua.user_id) DESC, min(ua.submitted_at), ua.course_id,\n             ua.feedback_type, ua.rating\n$$",
    )
    op.create_entity(public_get_pending_consensus)

    public_get_feedback_summary = PGFunction(
        schema="public",
        signature="get_feedback_summary(p_course_id uuid)",
        definition="returns TABLE (\n    total_feedback integer,\n    feedback_by_type jsonb,\n    average_rating numeric,\n    consensus_groups integer,\n    analogy_feedback_count integer,\n    analogy_helpful_ratio numeric\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        annotations.total,\n        (\n            SELECT jsonb_object_agg(t.feedback_type, coalesce(n.annotations, 0) ORDER BY t.feedback_type)\n            FROM unnest(enum_range(NULL::public.feedback_type_enum)) AS t(feedback_type)\n            LEFT JOIN (\n                SELECT ua.feedback_type, count(*)::integer AS annotations\n                FROM public.user_annotations ua\n                WHERE ua.course_id = co.course_id\n                GROUP BY ua.feedback_type\n            ) AS n ON n.feedback_type = t.feedback_type\n        ),\n        annotations.average_rating,\n        (\n            SELECT count(*)::integer\n            FROM (\n                SELECT\n                FROM public.user_annotations ua\n                WHERE ua.course_id = co.course_id AND NOT ua.processed AND ua.rating IS NOT NULL\n                GROUP BY ua.feedback_type, ua.rating\n                HAVING count(DISTINCT ua.user_id) >= 3\n            ) AS agreed\n        ),\n        analogies.total,\n        analogies.helpful_ratio\n    FROM public.courses co\n    CROSS JOIN LATERAL (\n        SELECT count(*)::integer AS total, round(avg(ua.rating), 2) AS average_rating\n        FROM public.user_annotations ua\n        WHERE ua.course_id = co.course_id\n    ) AS annotations\n    CROSS JOIN LATERAL (\n        SELECT\n            count(*)::integer AS total,\n            round((count(*) FILTER (WHERE af.helpful))::numeric / nullif(count(*), 0), 4)\n                AS helpful_ratio\n        FROM public.analogy_feedback af\n        JOIN public.chapters c ON c.chapter_id = af.chapter_id\n        JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n        WHERE pd.course_id = co.course_id\n    ) AS analogies\n    WHERE co.course_id = p_course_id\n$$",
    )
    op.create_entity(public_get_feedback_summary)

    public_get_learner_streak = PGFunction(
        schema="public",
        signature="get_learner_streak(p_user_id uuid)",
        definition="returns TABLE (\n    current_streak integer,\n    longest_streak integer,\n    last_activity_date date\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        CASE\n            WHEN latest.last_activity_date >= (now() AT TIME ZONE 'UTC')::date - 1\n                THEN latest.current_streak_days\n            ELSE 0\n        END,\n        (\n            SELECT coalesce(max(up.longest_streak_days), 0)\n            FROM public.user_progress up\n            WHERE up.user_id = p_user_id\n        ),\n        latest.last_activity_date\n    FROM (SELECT) AS learner\n    LEFT JOIN LATERAL (\n        SELECT up.last_activity_date, up.current_streak_days\n        FROM public.user_progress up\n        WHERE up.user_id = p_user_id AND up.last_activity_date IS NOT NULL\n        ORDER BY up.last_activity_date DESC, up.current_streak_days DESC\n        LIMIT 1\n    ) AS latest ON true\n$$",
    )
    op.create_entity(public_get_learner_streak)

    public_get_course_stats = PGFunction(
        schema="public",
        signature="get_course_stats(p_course_id uuid)",
        definition="returns TABLE (\n    total_documents integer,\n    completed_documents integer,\n    pending_documents integer,\n    failed_documents integer,\n    total_chapters integer,\n    total_keywords integer\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        documents.total, documents.completed, documents.pending, documents.failed,\n        (\n            SELECT count(*)::integer\n            FROM public.chapters c\n            JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n            WHERE pd.course_id = co.course_id\n        ),\n        (\n            SELECT count(*)::integer\n            FROM public.keywords k\n            JOIN public.chapters c ON c.chapter_id = k.chapter_id\n            JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n            WHERE pd.course_id = co.course_id\n        )\n    FROM public.courses co\n    CROSS JOIN LATERAL (\n        SELECT\n            count(*)::integer AS total,\n            (count(*) FILTER (WHERE d.processing_status = 'completed'))::integer AS completed,\n            (count(*) FILTER (WHERE d.processing_status = 'pending'))::integer AS pending,\n            (count(*) FILTER (WHERE d.processing_status = 'failed'))::integer AS failed\n        FROM public.course_documents d\n        WHERE d.course_id = co.course_id\n    ) AS documents\n    WHERE co.course_id = p_course_id\n$$",
    )
    op.create_entity(public_get_course_stats)

    public_search_courses = PGFunction(
        schema="public",
        signature="search_courses( p_user_id uuid, p_query text, p_limit integer DEFAULT 20 )",
        definition="returns TABLE (\n    course_id uuid,\n    name character varying,\n    description text,\n    subject character varying,\n    is_archived boolean,\n    relevance real\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_threshold text := current_setting('pg_trgm.word_similarity_threshold', true);\nBEGIN\n    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);\n    RETURN QUERY\n    SELECT co.course_id, co.name, co.description, co.subject, co.is_archived,\n           word_similarity(p_query, co.name)\n    FROM public.courses co\n    WHERE co.user_id = p_user_id AND p_query <% co.name\n    ORDER BY word_similarity(p_query, co.name) DESC, co.name, co.course_id\n    LIMIT p_limit;\n    PERFORM set_config('pg_trgm.word_similarity_threshold', coalesce(caller_threshold, '0.6'), true);\nEND;\n$$",
    )
    op.create_entity(public_search_courses)

    public_search_keywords = PGFunction(
        schema="public",
        signature="search_keywords( p_query text, p_course_id uuid DEFAULT NULL, p_limit integer DEFAULT 20 )",
        definition="returns TABLE (\n    keyword_id uuid,\n    chapter_id uuid,\n    course_id uuid,\n    term character varying,\n    definition text,\n    relevance real\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_threshold text := current_setting('pg_trgm.word_similarity_threshold', true);\nBEGIN\n    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);\n    RETURN QUERY\n    SELECT k.keyword_id, k.chapter_id, pd.course_id, k.term, k.definition,\n           word_similarity(p_query, k.term)\n    FROM public.keywords k\n    JOIN public.chapters c ON c.chapter_id = k.chapter_id\n    JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n    WHERE p_query <% k.term AND (p_course_id IS NULL OR pd.course_id = p_course_id)\n    ORDER BY word_similarity(p_query, k.term) DESC, k.term, k.keyword_id\n    LIMIT p_limit;\n    PERFORM set_config('pg_trgm.word_similarity_threshold', coalesce(caller_threshold, '0.6'), true);\nEND;\n$$",
    )
    op.create_entity(public_search_keywords)

    public_cosine_similarity = PGFunction(
        schema="public",
        signature="cosine_similarity(a vector, b vector)",
        definition="returns double precision\nLANGUAGE sql\nIMMUTABLE\nSTRICT\nPARALLEL SAFE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT 1 - (a <=> b)\n$$",
    )
    op.create_entity(public_cosine_similarity)

    public_find_similar_documents = PGFunction(
        schema="public",
        signature="find_similar_documents( query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7 )",
        definition="returns TABLE (\n    processed_id uuid,\n    document_id uuid,\n    course_id uuid,\n    subject character varying,\n    similarity double precision\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n    caller_ef_search text := current_setting('hnsw.ef_search', true);\nBEGIN\n    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n    PERFORM set_config('hnsw.ef_search', '100', true);\n    RETURN QUERY\n    SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,\n           1 - nearest.distance\n    FROM (\n        SELECT pd.processed_id, pd.document_id, pd.course_id, pd.subject,\n               pd.embedding <=> query_embedding AS distance\n        FROM public.processed_documents pd\n        ORDER BY pd.embedding <=> query_embedding\n        LIMIT match_count\n    ) AS nearest\n    WHERE 1 - nearest.distance >= min_similarity\n    ORDER BY nearest.distance, nearest.processed_id;\n    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\nEND;\n$$",
    )
    op.create_entity(public_find_similar_documents)

    public_find_similar_keywords = PGFunction(
        schema="public",
        signature="find_similar_keywords( query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7, p_course_id uuid DEFAULT NULL )",
        definition="returns TABLE (\n    keyword_id uuid,\n    chapter_id uuid,\n    term character varying,\n    definition text,\n    similarity double precision\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n    caller_ef_search text := current_setting('hnsw.ef_search', true);\nBEGIN\n    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n    PERFORM set_config('hnsw.ef_search', '100', true);\n    RETURN QUERY\n    SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,\n           1 - nearest.distance\n    FROM (\n        SELECT k.keyword_id, k.chapter_id, k.term, k.definition,\n               k.embedding <=> query_embedding AS distance\n        FROM public.keywords k\n        WHERE p_course_id IS NULL\n           OR k.chapter_id IN (\n               SELECT c.chapter_id\n               FROM public.chapters c\n               JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n               WHERE pd.course_id = p_course_id\n           )\n        ORDER BY k.embedding <=> query_embedding\n        LIMIT match_count\n    ) AS nearest\n    WHERE 1 - nearest.distance >= min_similarity\n    ORDER BY nearest.distance, nearest.keyword_id;\n    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\nEND;\n$$",
    )
    op.create_entity(public_find_similar_keywords)

    public_get_user_progress_summary = PGFunction(
        schema="public",
        signature="get_user_progress_summary(p_user_id uuid, p_course_id uuid)",
        definition="returns TABLE (\n    total_chapters integer,\n    completed_chapters integer,\n    completion_percentage numeric,\n    current_streak integer,\n    total_time_spent integer\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        chapters.total,\n        progress.completed,\n        round(progress.completed::numeric / nullif(chapters.total, 0) * 100, 2),\n        streak.current_streak,\n        progress.seconds\n    FROM public.courses co\n    CROSS JOIN LATERAL (\n        SELECT count(*)::integer AS total\n        FROM public.chapters c\n        JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n        WHERE pd.course_id = co.course_id\n    ) AS chapters\n    CROSS JOIN LATERAL (\n        SELECT\n            (count(*) FILTER (WHERE up.completed))::integer AS completed,\n            coalesce(sum(up.time_spent_seconds), 0)::integer AS seconds\n        FROM public.user_progress up\n        JOIN public.chapters c ON c.chapter_id = up.chapter_id\n        JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n        WHERE up.user_id = p_user_id AND pd.course_id = co.course_id\n    ) AS progress\n    CROSS JOIN LATERAL public.get_learner_streak(p_user_id) AS streak\n    WHERE co.course_id = p_course_id\n$$",
    )
    op.create_entity(public_get_user_progress_summary)

    public_get_learning_statistics = PGFunction(
        schema="public",
        signature="get_learning_statistics(p_user_id uuid)",
        definition="returns TABLE (\n    total_time_spent_seconds bigint,\n    chapters_started integer,\n    chapters_completed integer,\n    active_courses integer,\n    courses_studied integer,\n    current_streak integer,\n    longest_streak integer,\n    badges jsonb\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        progress.seconds,\n        progress.started,\n        progress.completed,\n        (\n            SELECT count(*)::integer\n            FROM public.courses co\n            WHERE co.user_id = p_user_id AND NOT co.is_archived\n        ),\n        progress.courses,\n        streak.current_streak,\n        streak.longest_streak,\n        (\n            SELECT coalesce(jsonb_agg(DISTINCT badge.value ORDER BY badge.value), '[]'::jsonb)\n            FROM public.user_progress up\n            CROSS JOIN LATERAL jsonb_array_elements(up.badges) AS badge(value)\n            WHERE up.user_id = p_user_id\n        )\n    FROM (\n        SELECT\n            coalesce(sum(up.time_spent_seconds), 0)::bigint AS seconds,\n            count(*)::integer AS started,\n            (count(*) FILTER (WHERE up.completed))::integer AS completed,\n            count(DISTINCT up.course_id)::integer AS courses\n        FROM public.user_progress up\n        WHERE up.user_id = p_user_id\n    ) AS progress\n    CROSS JOIN LATERAL public.get_learner_streak(p_user_id) AS streak\n$$",
    )
    op.create_entity(public_get_learning_statistics)


def downgrade() -> None:
    public_get_learning_statistics = PGFunction(
        schema="public",
        signature="get_learning_statistics(p_user_id uuid)",
        definition="returns TABLE (\n    total_time_spent_seconds bigint,\n    chapters_started integer,\n    chapters_completed integer,\n    active_courses integer,\n    courses_studied integer,\n    current_streak integer,\n    longest_streak integer,\n    badges jsonb\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        progress.seconds,\n        progress.started,\n        progress.completed,\n        (\n            SELECT count(*)::integer\n            FROM public.courses co\n            WHERE co.user_id = p_user_id AND NOT co.is_archived\n        ),\n        progress.courses,\n        streak.current_streak,\n        streak.longest_streak,\n        (\n            SELECT coalesce(jsonb_agg(DISTINCT badge.value ORDER BY badge.value), '[]'::jsonb)\n            FROM public.user_progress up\n            CROSS JOIN LATERAL jsonb_array_elements(up.badges) AS badge(value)\n            WHERE up.user_id = p_user_id\n        )\n    FROM (\n        SELECT\n            coalesce(sum(up.time_spent_seconds), 0)::bigint AS seconds,\n            count(*)::integer AS started,\n            (count(*) FILTER (WHERE up.completed))::integer AS completed,\n            count(DISTINCT up.course_id)::integer AS courses\n        FROM public.user_progress up\n        WHERE up.user_id = p_user_id\n    ) AS progress\n    CROSS JOIN LATERAL public.get_learner_streak(p_user_id) AS streak\n$$",
    )
    op.drop_entity(public_get_learning_statistics)

    public_get_user_progress_summary = PGFunction(
        schema="public",
        signature="get_user_progress_summary(p_user_id uuid, p_course_id uuid)",
        definition="returns TABLE (\n    total_chapters integer,\n    completed_chapters integer,\n    completion_percentage numeric,\n    current_streak integer,\n    total_time_spent integer\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        chapters.total,\n        progress.completed,\n        round(progress.completed::numeric / nullif(chapters.total, 0) * 100, 2),\n        streak.current_streak,\n        progress.seconds\n    FROM public.courses co\n    CROSS JOIN LATERAL (\n        SELECT count(*)::integer AS total\n        FROM public.chapters c\n        JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n        WHERE pd.course_id = co.course_id\n    ) AS chapters\n    CROSS JOIN LATERAL (\n        SELECT\n            (count(*) FILTER (WHERE up.completed))::integer AS completed,\n            coalesce(sum(up.time_spent_seconds), 0)::integer AS seconds\n        FROM public.user_progress up\n        JOIN public.chapters c ON c.chapter_id = up.chapter_id\n        JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n        WHERE up.user_id = p_user_id AND pd.course_id = co.course_id\n    ) AS progress\n    CROSS JOIN LATERAL public.get_learner_streak(p_user_id) AS streak\n    WHERE co.course_id = p_course_id\n$$",
    )
    op.drop_entity(public_get_user_progress_summary)

    public_find_similar_keywords = PGFunction(
        schema="public",
        signature="find_similar_keywords( query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7, p_course_id uuid DEFAULT NULL )",
        definition="returns TABLE (\n    keyword_id uuid,\n    chapter_id uuid,\n    term character varying,\n    definition text,\n    similarity double precision\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n    caller_ef_search text := current_setting('hnsw.ef_search', true);\nBEGIN\n    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n    PERFORM set_config('hnsw.ef_search', '100', true);\n    RETURN QUERY\n    SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,\n           1 - nearest.distance\n    FROM (\n        SELECT k.keyword_id, k.chapter_id, k.term, k.definition,\n               k.embedding <=> query_embedding AS distance\n        FROM public.keywords k\n        WHERE p_course_id IS NULL\n           OR k.chapter_id IN (\n               SELECT c.chapter_id\n               FROM public.chapters c\n               JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n               WHERE pd.course_id = p_course_id\n           )\n        ORDER BY k.embedding <=> query_embedding\n        LIMIT match_count\n    ) AS nearest\n    WHERE 1 - nearest.distance >= min_similarity\n    ORDER BY nearest.distance, nearest.keyword_id;\n    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\nEND;\n$$",
    )
    op.drop_entity(public_find_similar_keywords)

    public_find_similar_documents = PGFunction(
        schema="public",
        signature="find_similar_documents( query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7 )",
        definition="returns TABLE (\n    processed_id uuid,\n    document_id uuid,\n    course_id uuid,\n    subject character varying,\n    similarity double precision\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n    caller_ef_search text := current_setting('hnsw.ef_search', true);\nBEGIN\n    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n    PERFORM set_config('hnsw.ef_search', '100', true);\n    RETURN QUERY\n    SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,\n           1 - nearest.distance\n    FROM (\n        SELECT pd.processed_id, pd.document_id, pd.course_id, pd.subject,\n               pd.embedding <=> query_embedding AS distance\n        FROM public.processed_documents pd\n        ORDER BY pd.embedding <=> query_embedding\n        LIMIT match_count\n    ) AS nearest\n    WHERE 1 - nearest.distance >= min_similarity\n    ORDER BY nearest.distance, nearest.processed_id;\n    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\nEND;\n$$",
    )
    op.drop_entity(public_find_similar_documents)

    public_cosine_similarity = PGFunction(
        schema="public",
        signature="cosine_similarity(a vector, b vector)",
        definition="returns double precision\nLANGUAGE sql\nIMMUTABLE\nSTRICT\nPARALLEL SAFE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT 1 - (a <=> b)\n$$",
    )
    op.drop_entity(public_cosine_similarity)

    public_search_keywords = PGFunction(
        schema="public",
        signature="search_keywords( p_query text, p_course_id uuid DEFAULT NULL, p_limit integer DEFAULT 20 )",
        definition="returns TABLE (\n    keyword_id uuid,\n    chapter_id uuid,\n    course_id uuid,\n    term character varying,\n    definition text,\n    relevance real\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_threshold text := current_setting('pg_trgm.word_similarity_threshold', true);\nBEGIN\n    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);\n    RETURN QUERY\n    SELECT k.keyword_id, k.chapter_id, pd.course_id, k.term, k.definition,\n           word_similarity(p_query, k.term)\n    FROM public.keywords k\n    JOIN public.chapters c ON c.chapter_id = k.chapter_id\n    JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n    WHERE p_query <% k.term AND (p_course_id IS NULL OR pd.course_id = p_course_id)\n    ORDER BY word_similarity(p_query, k.term) DESC, k.term, k.keyword_id\n    LIMIT p_limit;\n    PERFORM set_config('pg_trgm.word_similarity_threshold', coalesce(caller_threshold, '0.6'), true);\nEND;\n$$",
    )
    op.drop_entity(public_search_keywords)

    public_search_courses = PGFunction(
        schema="public",
        signature="search_courses( p_user_id uuid, p_query text, p_limit integer DEFAULT 20 )",
        definition="returns TABLE (\n    course_id uuid,\n    name character varying,\n    description text,\n    subject character varying,\n    is_archived boolean,\n    relevance real\n)\nLANGUAGE plpgsql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    caller_threshold text := current_setting('pg_trgm.word_similarity_threshold', true);\nBEGIN\n    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);\n    RETURN QUERY\n    SELECT co.course_id, co.name, co.description, co.subject, co.is_archived,\n           word_similarity(p_query, co.name)\n    FROM public.courses co\n    WHERE co.user_id = p_user_id AND p_query <% co.name\n    ORDER BY word_similarity(p_query, co.name) DESC, co.name, co.course_id\n    LIMIT p_limit;\n    PERFORM set_config('pg_trgm.word_similarity_threshold', coalesce(caller_threshold, '0.6'), true);\nEND;\n$$",
    )
    op.drop_entity(public_search_courses)

    public_get_course_stats = PGFunction(
        schema="public",
        signature="get_course_stats(p_course_id uuid)",
        definition="returns TABLE (\n    total_documents integer,\n    completed_documents integer,\n    pending_documents integer,\n    failed_documents integer,\n    total_chapters integer,\n    total_keywords integer\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        documents.total, documents.completed, documents.pending, documents.failed,\n        (\n            SELECT count(*)::integer\n            FROM public.chapters c\n            JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n            WHERE pd.course_id = co.course_id\n        ),\n        (\n            SELECT count(*)::integer\n            FROM public.keywords k\n            JOIN public.chapters c ON c.chapter_id = k.chapter_id\n            JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n            WHERE pd.course_id = co.course_id\n        )\n    FROM public.courses co\n    CROSS JOIN LATERAL (\n        SELECT\n            count(*)::integer AS total,\n            (count(*) FILTER (WHERE d.processing_status = 'completed'))::integer AS completed,\n            (count(*) FILTER (WHERE d.processing_status = 'pending'))::integer AS pending,\n            (count(*) FILTER (WHERE d.processing_status = 'failed'))::integer AS failed\n        FROM public.course_documents d\n        WHERE d.course_id = co.course_id\n    ) AS documents\n    WHERE co.course_id = p_course_id\n$$",
    )
    op.drop_entity(public_get_course_stats)

    public_get_learner_streak = PGFunction(
        schema="public",
        signature="get_learner_streak(p_user_id uuid)",
        definition="returns TABLE (\n    current_streak integer,\n    longest_streak integer,\n    last_activity_date date\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        CASE\n            WHEN latest.last_activity_date >= (now() AT TIME ZONE 'UTC')::date - 1\n                THEN latest.current_streak_days\n            ELSE 0\n        END,\n        (\n            SELECT coalesce(max(up.longest_streak_days), 0)\n            FROM public.user_progress up\n            WHERE up.user_id = p_user_id\n        ),\n        latest.last_activity_date\n    FROM (SELECT) AS learner\n    LEFT JOIN LATERAL (\n        SELECT up.last_activity_date, up.current_streak_days\n        FROM public.user_progress up\n        WHERE up.user_id = p_user_id AND up.last_activity_date IS NOT NULL\n        ORDER BY up.last_activity_date DESC, up.current_streak_days DESC\n        LIMIT 1\n    ) AS latest ON true\n$$",
    )
    op.drop_entity(public_get_learner_streak)

    public_get_feedback_summary = PGFunction(
        schema="public",
        signature="get_feedback_summary(p_course_id uuid)",
        definition="returns TABLE (\n    total_feedback integer,\n    feedback_by_type jsonb,\n    average_rating numeric,\n    consensus_groups integer,\n    analogy_feedback_count integer,\n    analogy_helpful_ratio numeric\n)\nLANGUAGE sql\nSTABLE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        annotations.total,\n        (\n            SELECT jsonb_object_agg(t.feedback_type, coalesce(n.annotations, 0) ORDER BY t.feedback_type)\n            FROM unnest(enum_range(NULL::public.feedback_type_enum)) AS t(feedback_type)\n            LEFT JOIN (\n                SELECT ua.feedback_type, count(*)::integer AS annotations\n                FROM public.user_annotations ua\n                WHERE ua.course_id = co.course_id\n                GROUP BY ua.feedback_type\n            ) AS n ON n.feedback_type = t.feedback_type\n        ),\n        annotations.average_rating,\n        (\n            SELECT count(*)::integer\n            FROM (\n                SELECT\n                FROM public.user_annotations ua\n                WHERE ua.course_id = co.course_id AND NOT ua.processed AND ua.rating IS NOT NULL\n                GROUP BY ua.feedback_type, ua.rating\n                HAVING count(DISTINCT ua.user_id) >= 3\n            ) AS agreed\n        ),\n        analogies.total,\n        analogies.helpful_ratio\n    FROM public.courses co\n    CROSS JOIN LATERAL (\n        SELECT count(*)::integer AS total, round(avg(ua.rating), 2) AS average_rating\n        FROM public.user_annotations ua\n        WHERE ua.course_id = co.course_id\n    ) AS annotations\n    CROSS JOIN LATERAL (\n        SELECT\n            count(*)::integer AS total,\n            round((count(*) FILTER (WHERE af.helpful))::numeric / nullif(count(*), 0), 4)\n                AS helpful_ratio\n        FROM public.analogy_feedback af\n        JOIN public.chapters c ON c.chapter_id = af.chapter_id\n        JOIN public.processed_documents pd ON pd.processed_id = c.processed_id\n        WHERE pd.course_id = co.course_id\n    ) AS analogies\n    WHERE co.course_id = p_course_id\n$$",
    )
    op.drop_entity(public_get_feedback_summary)

    public_get_pending_consensus = PGFunction(
        schema="public",
        signature="get_pending_consensus(p_min_users integer DEFAULT 3)",
        definition="returns TABLE (\n    course_id uuid,\n    feedback_type public.feedback_type_enum,\n    rating integer,\n    learner_count integer,\n    annotation_ids uuid[],\n    first_submitted_at timestamp with time zone,\n    last_submitted_at timestamp with time zone\n)\nLANGUAGE sql\nSTABLE\nSTRICT\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT\n        ua.course_id,\n        ua.feedback_type,\n        ua.rating,\n        count(DISTINCT ua.user_id)::integer,\n        array_agg(ua.annotation_id ORDER BY ua.submitted_at, ua.annotation_id),\n        min(ua.submitted_at),\n        max(ua.submitted_at)\n    FROM public.user_annotations ua\n    WHERE NOT ua.processed AND ua.rating IS NOT NULL\n    GROUP BY ua.course_id, ua.feedback_type, ua.rating\n    HAVING count(DISTINCT ua.user_id) >= p_min_users\n    ORDER BY count(DISTINCT ua.user_id) DESC, min(ua.submitted_at), ua.course_id,\n             ua.feedback_type, ua.rating\n$$",
    )
    op.drop_entity(public_get_pending_consensus)

    public_generate_cache_key = PGFunction(
        schema="public",
        signature="generate_cache_key(p_sha256 text, p_pipeline_version text)",
        definition="returns text\nLANGUAGE plpgsql\nIMMUTABLE\nSTRICT\nPARALLEL SAFE\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    IF p_sha256 !~ '^[0-9A-Fa-f]{64}$' THEN\n        RAISE EXCEPTION 'a cache key needs a SHA-256 of 64 hex digits, not %', quote_literal(p_sha256)\n            USING ERRCODE = 'invalid_parameter_value';\n    END IF;\n    IF btrim(p_pipeline_version) = '' THEN\n        RAISE EXCEPTION 'a cache key needs a pipeline version'\n            USING ERRCODE = 'invalid_parameter_value';\n    END IF;\n    RETURN lower(p_sha256) || '\\:' || p_pipeline_version;\nEND;\n$$",
    )
    op.drop_entity(public_generate_cache_key)

    public_find_duplicate_document = PGFunction(
        schema="public",
        signature="find_duplicate_document(p_course_id uuid, p_sha256 text)",
        definition="returns TABLE (\n    document_id uuid,\n    processing_status public.processing_status_enum,\n    processed_id uuid,\n    cache_key character varying,\n    upload_date timestamp with time zone\n)\nLANGUAGE sql\nSTABLE\nSTRICT\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\n    SELECT d.document_id, d.processing_status, pd.processed_id, pd.cache_key, d.upload_date\n    FROM public.course_documents d\n    LEFT JOIN public.processed_documents pd ON pd.document_id = d.document_id\n    WHERE d.course_id = p_course_id AND d.sha256_hash = lower(p_sha256)::character(64)\n$$",
    )
    op.drop_entity(public_find_duplicate_document)
