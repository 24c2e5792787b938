"""hnsw over halfvec embeddings

Both HNSW indexes, idx_processed_docs_embedding and idx_keywords_embedding,
are rebuilt over embedding::halfvec(768) (halfvec_cosine_ops, m 16,
ef_construction 64), keeping their names; find_similar_documents() and
find_similar_keywords() (same signatures and result columns) order their
candidates by that expression, so that the indexes serve them, and rank and
filter them by the full-precision distance. Measured on 29,900 real
embeddings (README, benchmark results): each index half the size, recall@10
within the issue's 0.005.

Nothing blocks writes, and a kill before any statement leaves a state the
re-run finishes, per table:
1. the full-precision index is renamed <name>_ccold (an INVALID index left
   under <name> by a failed build is renamed <name>_ccnew and dropped
   instead): env.py drops an INVALID index of either suffix (a leftover of an
   interrupted drop) rather than rebuilding it, as for REINDEX CONCURRENTLY's
   own leftovers;
2. the halfvec index is built CONCURRENTLY under the design's name (IF NOT
   EXISTS: after step 1 a valid index of that name is the halfvec one);
3. the function switches to the halfvec order, once an index serves it;
4. the full-precision index is dropped CONCURRENTLY.
Until step 3 the old index serves the old order; from step 3 the new one
serves the new order. The downgrade is the same with the precisions swapped.

Revision ID: 52a077888982
Revises: 4843d9586430
Create Date: 2026-11-30 10:51:19.496925+00:00

"""

from collections.abc import Sequence

from alembic import op
from alembic_utils.pg_function import PGFunction

revision: str = "52a077888982"
down_revision: str | Sequence[str] | None = "4843d9586430"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"

HNSW_WITH = "WITH (m = 16, ef_construction = 64)"
HALF_PRECISION = "((embedding::halfvec(768)) halfvec_cosine_ops)"
FULL_PRECISION = "(embedding vector_cosine_ops)"
# index name -> its table
INDEXES = {
    "idx_processed_docs_embedding": "processed_documents",
    "idx_keywords_embedding": "keywords",
}

HALF_PRECISION_DOCUMENTS = PGFunction(
    schema="public",
    signature="find_similar_documents( query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7 )",
    definition=(
        "returns TABLE (\n"
        "    processed_id uuid,\n"
        "    document_id uuid,\n"
        "    course_id uuid,\n"
        "    subject character varying,\n"
        "    similarity double precision\n"
        ")\n"
        "LANGUAGE plpgsql\n"
        "STABLE\n"
        "SECURITY INVOKER\n"
        "SET search_path = pg_catalog, public\n"
        "AS $$\n"
        "DECLARE\n"
        "    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n"
        "    caller_ef_search text := current_setting('hnsw.ef_search', true);\n"
        "BEGIN\n"
        "    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n"
        "    PERFORM set_config('hnsw.ef_search', '100', true);\n"
        "    RETURN QUERY\n"
        "    SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,\n"
        "           1 - nearest.distance\n"
        "    FROM (\n"
        "        SELECT pd.processed_id, pd.document_id, pd.course_id, pd.subject,\n"
        "               pd.embedding <=> query_embedding AS distance\n"
        "        FROM public.processed_documents pd\n"
        "        ORDER BY pd.embedding::halfvec(768) <=> query_embedding::halfvec(768)\n"
        "        LIMIT 2 * match_count::bigint\n"
        "    ) AS nearest\n"
        "    WHERE 1 - nearest.distance >= min_similarity\n"
        "    ORDER BY nearest.distance, nearest.processed_id\n"
        "    LIMIT match_count;\n"
        "    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n"
        "    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\n"
        "END;\n"
        "$$"
    ),
)

HALF_PRECISION_KEYWORDS = PGFunction(
    schema="public",
    signature="find_similar_keywords( query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7, p_course_id uuid DEFAULT NULL )",
    definition=(
        "returns TABLE (\n"
        "    keyword_id uuid,\n"
        "    chapter_id uuid,\n"
        "    term character varying,\n"
        "    definition text,\n"
        "    similarity double precision\n"
        ")\n"
        "LANGUAGE plpgsql\n"
        "STABLE\n"
        "SECURITY INVOKER\n"
        "SET search_path = pg_catalog, public\n"
        "AS $$\n"
        "DECLARE\n"
        "    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n"
        "    caller_ef_search text := current_setting('hnsw.ef_search', true);\n"
        "BEGIN\n"
        "    IF p_course_id IS NULL THEN\n"
        "        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n"
        "        PERFORM set_config('hnsw.ef_search', '100', true);\n"
        "        RETURN QUERY\n"
        "        SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,\n"
        "               1 - nearest.distance\n"
        "        FROM (\n"
        "            SELECT k.keyword_id, k.chapter_id, k.term, k.definition,\n"
        "                   k.embedding <=> query_embedding AS distance\n"
        "            FROM public.keywords k\n"
        "            ORDER BY k.embedding::halfvec(768) <=> query_embedding::halfvec(768)\n"
        "            LIMIT 2 * match_count::bigint\n"
        "        ) AS nearest\n"
        "        WHERE 1 - nearest.distance >= min_similarity\n"
        "        ORDER BY nearest.distance, nearest.keyword_id\n"
        "        LIMIT match_count;\n"
        "        PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n"
        "        PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\n"
        "    ELSE\n"
        "        RETURN QUERY\n"
        "        WITH course_keywords AS MATERIALIZED (\n"
        "            SELECT k.keyword_id, k.chapter_id, k.term, k.definition,\n"
        "                   k.embedding <=> query_embedding AS distance\n"
        "            FROM public.processed_documents pd\n"
        "            JOIN public.chapters c ON c.processed_id = pd.processed_id\n"
        "            JOIN public.keywords k ON k.chapter_id = c.chapter_id\n"
        "            WHERE pd.course_id = p_course_id AND k.embedding IS NOT NULL\n"
        "        )\n"
        "        SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,\n"
        "               1 - nearest.distance\n"
        "        FROM (\n"
        "            SELECT * FROM course_keywords ck\n"
        "            ORDER BY ck.distance, ck.keyword_id\n"
        "            LIMIT match_count\n"
        "        ) AS nearest\n"
        "        WHERE 1 - nearest.distance >= min_similarity\n"
        "        ORDER BY nearest.distance, nearest.keyword_id;\n"
        "    END IF;\n"
        "END;\n"
        "$$"
    ),
)

FULL_PRECISION_KEYWORDS = PGFunction(
    schema="public",
    signature="find_similar_keywords(query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7, p_course_id uuid DEFAULT NULL::uuid)",
    definition=(
        "returns TABLE(keyword_id uuid, chapter_id uuid, term character varying, definition text, similarity double precision)\n"
        " LANGUAGE plpgsql\n"
        " STABLE\n"
        " SET search_path TO 'pg_catalog', 'public'\n"
        "AS $function$\n"
        "DECLARE\n"
        "    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n"
        "    caller_ef_search text := current_setting('hnsw.ef_search', true);\n"
        "BEGIN\n"
        "    IF p_course_id IS NULL THEN\n"
        "        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n"
        "        PERFORM set_config('hnsw.ef_search', '100', true);\n"
        "        RETURN QUERY\n"
        "        SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,\n"
        "               1 - nearest.distance\n"
        "        FROM (\n"
        "            SELECT k.keyword_id, k.chapter_id, k.term, k.definition,\n"
        "                   k.embedding <=> query_embedding AS distance\n"
        "            FROM public.keywords k\n"
        "            ORDER BY k.embedding <=> query_embedding\n"
        "            LIMIT match_count\n"
        "        ) AS nearest\n"
        "        WHERE 1 - nearest.distance >= min_similarity\n"
        "        ORDER BY nearest.distance, nearest.keyword_id;\n"
        "        PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n"
        "        PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\n"
        "    ELSE\n"
        "        RETURN QUERY\n"
        "        WITH course_keywords AS MATERIALIZED (\n"
        "            SELECT k.keyword_id, k.chapter_id, k.term, k.definition,\n"
        "                   k.embedding <=> query_embedding AS distance\n"
        "            FROM public.processed_documents pd\n"
        "            JOIN public.chapters c ON c.processed_id = pd.processed_id\n"
        "            JOIN public.keywords k ON k.chapter_id = c.chapter_id\n"
        "            WHERE pd.course_id = p_course_id AND k.embedding IS NOT NULL\n"
        "        )\n"
        "        SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,\n"
        "               1 - nearest.distance\n"
        "        FROM (\n"
        "            SELECT * FROM course_keywords ck\n"
        "            ORDER BY ck.distance, ck.keyword_id\n"
        "            LIMIT match_count\n"
        "        ) AS nearest\n"
        "        WHERE 1 - nearest.distance >= min_similarity\n"
        "        ORDER BY nearest.distance, nearest.keyword_id;\n"
        "    END IF;\n"
        "END;\n"
        "$function$"
    ),
)
FULL_PRECISION_DOCUMENTS = PGFunction(
    schema="public",
    signature="find_similar_documents(query_embedding vector, match_count integer DEFAULT 10, min_similarity double precision DEFAULT 0.7)",
    definition=(
        "returns TABLE(processed_id uuid, document_id uuid, course_id uuid, subject character varying, similarity double precision)\n"
        " LANGUAGE plpgsql\n"
        " STABLE\n"
        " SET search_path TO 'pg_catalog', 'public'\n"
        "AS $function$\n"
        "DECLARE\n"
        "    caller_iterative_scan text := current_setting('hnsw.iterative_scan', true);\n"
        "    caller_ef_search text := current_setting('hnsw.ef_search', true);\n"
        "BEGIN\n"
        "    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);\n"
        "    PERFORM set_config('hnsw.ef_search', '100', true);\n"
        "    RETURN QUERY\n"
        "    SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,\n"
        "           1 - nearest.distance\n"
        "    FROM (\n"
        "        SELECT pd.processed_id, pd.document_id, pd.course_id, pd.subject,\n"
        "               pd.embedding <=> query_embedding AS distance\n"
        "        FROM public.processed_documents pd\n"
        "        ORDER BY pd.embedding <=> query_embedding\n"
        "        LIMIT match_count\n"
        "    ) AS nearest\n"
        "    WHERE 1 - nearest.distance >= min_similarity\n"
        "    ORDER BY nearest.distance, nearest.processed_id;\n"
        "    PERFORM set_config('hnsw.iterative_scan', coalesce(caller_iterative_scan, 'off'), true);\n"
        "    PERFORM set_config('hnsw.ef_search', coalesce(caller_ef_search, '40'), true);\n"
        "END;\n"
        "$function$"
    ),
)


def _retire(name: str, retiring_expression: bool) -> str:
    """Step 1: move the index of the precision being replaced (an index over the
    halfvec expression has index expressions; over the column, none) out of the
    name, and an INVALID one under the name aside for its drop."""
    retiring = "IS NOT NULL" if retiring_expression else "IS NULL"
    return f"""
        DO $retire$
        BEGIN
            IF EXISTS (
                SELECT FROM pg_catalog.pg_index AS i
                WHERE i.indexrelid = to_regclass('public.{name}') AND NOT i.indisvalid
            ) THEN
                ALTER INDEX public.{name} RENAME TO {name}_ccnew;
            ELSIF EXISTS (
                SELECT FROM pg_catalog.pg_index AS i
                WHERE i.indexrelid = to_regclass('public.{name}') AND i.indexprs {retiring}
            ) THEN
                ALTER INDEX public.{name} RENAME TO {name}_ccold;
            END IF;
        END
        $retire$
    """


def _swap(functions: dict[str, PGFunction], opclass: str, retiring_expression: bool) -> None:
    with op.get_context().autocommit_block():
        # An HNSW build on a large table may outlast the session's statement timeout.
        op.execute("SET statement_timeout = 0")
        for name, table in INDEXES.items():
            op.execute(_retire(name, retiring_expression))
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{name}_ccnew")
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name}"
                f" ON public.{table} USING hnsw {opclass} {HNSW_WITH}"
            )
            op.replace_entity(functions[name])
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{name}_ccold")


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    _swap(
        {
            "idx_processed_docs_embedding": HALF_PRECISION_DOCUMENTS,
            "idx_keywords_embedding": HALF_PRECISION_KEYWORDS,
        },
        HALF_PRECISION,
        retiring_expression=False,
    )


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    _swap(
        {
            "idx_processed_docs_embedding": FULL_PRECISION_DOCUMENTS,
            "idx_keywords_embedding": FULL_PRECISION_KEYWORDS,
        },
        FULL_PRECISION,
        retiring_expression=True,
    )
