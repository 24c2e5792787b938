"""``--halfvec``: would an HNSW index over halfvec(768) serve the global search as well?

An expression index over ``embedding::halfvec(768)`` (2-byte floats, half the
bytes per element) is built beside today's ``vector`` index, in the
benchmark's own database; the same queries run through each (``ORDER BY``
the expression, at the functions' ef_search and iterative scan), and recall@10
is measured against the exact answer over the full-precision vectors (the
sweep of ``workloads``, at the functions' ef_search). The
issue's rule for adopting it: recall within 0.005 of today's and the index at
least 40% smaller.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import psycopg

from sensa_db_tools.benchmark.dataset import Dataset
from sensa_db_tools.benchmark.plans import FUNCTION_HNSW_SETTINGS, plan_nodes, summary
from sensa_db_tools.benchmark.workloads import NEAREST_DOCUMENTS, exact_neighbours, sweep_recall

INDEX = "bench_processed_docs_embedding_halfvec"
RECALL_TOLERANCE = 0.005
SMALLER_BY = 0.40
_CREATE = (
    f"CREATE INDEX {INDEX} ON public.processed_documents USING hnsw"
    " ((embedding::halfvec(768)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)"
)
_NEAREST_HALFVEC = (
    "SELECT pd.processed_id FROM public.processed_documents pd"
    " ORDER BY pd.embedding::halfvec(768) <=> %s::halfvec(768) LIMIT 10"
)


def _plan(admin: psycopg.Connection[Any], statement: str, query: Any) -> str:
    row = admin.execute(f"EXPLAIN (FORMAT JSON) {statement}", (query,)).fetchone()
    admin.rollback()
    if row is None:
        raise RuntimeError("EXPLAIN returned no plan")
    return summary(list(plan_nodes(row[0][0]["Plan"])))


def measure(
    owner: psycopg.Connection[Any],
    admin: psycopg.Connection[Any],
    data: Dataset,
    *,
    queries: int,
    seed: int,
) -> dict[str, Any]:
    """Size, build time, recall@10 and latency of the halfvec index beside the vector one."""
    owner.execute("SET maintenance_work_mem = '2GB'")
    started = time.perf_counter()
    owner.execute(_CREATE)
    owner.commit()
    build_seconds = time.perf_counter() - started
    owner.execute("ANALYZE public.processed_documents")
    sizes = dict(
        owner.execute(
            "SELECT relname, pg_relation_size(oid) FROM pg_class"
            " WHERE relname IN ('idx_processed_docs_embedding', %s)",
            (INDEX,),
        ).fetchall()
    )
    owner.commit()
    rng = np.random.default_rng([seed, 16])
    document_queries = data.document_like(rng.integers(0, len(data.course_ids), size=queries))
    exacts = [exact_neighbours(admin, NEAREST_DOCUMENTS, (q,)) for q in document_queries]
    ef_search = int(FUNCTION_HNSW_SETTINGS["hnsw.ef_search"])
    (vector,) = sweep_recall(admin, NEAREST_DOCUMENTS, document_queries, exacts, [ef_search])
    (half,) = sweep_recall(admin, _NEAREST_HALFVEC, document_queries, exacts, [ef_search])
    half_plan = _plan(admin, _NEAREST_HALFVEC, document_queries[0])
    owner.execute(f"DROP INDEX public.{INDEX}")
    owner.commit()
    vector_size, half_size = sizes["idx_processed_docs_embedding"], sizes[INDEX]
    smaller = 1 - half_size / vector_size
    return {
        "vector": {"bytes": vector_size, "recall": vector.recall, **vector.latency.summary()},
        "halfvec": {
            "bytes": half_size,
            "build_s": build_seconds,
            "plan": half_plan,
            "recall": half.recall,
            **half.latency.summary(),
        },
        "smaller_by": smaller,
        "adopt": vector.recall - half.recall <= RECALL_TOLERANCE and smaller >= SMALLER_BY,
    }


def render_markdown(result: dict[str, Any]) -> str:
    vector, half = result["vector"], result["halfvec"]
    verdict = (
        "meets the rule (recall within 0.005, at least 40% smaller)"
        if result["adopt"]
        else "does not meet the rule (recall within 0.005 and at least 40% smaller)"
    )
    return "\n".join(
        [
            "## halfvec(768) HNSW index beside vector(768)",
            "",
            "| index | MiB | build s | recall@10 | p50 | p95 | plan |",
            "|---|---|---|---|---|---|---|",
            f"| vector (today) | {vector['bytes'] / 2**20:,.1f} | | {vector['recall']:.4f} |"
            f" {vector['p50_ms']:.2f} | {vector['p95_ms']:.2f} | |",
            f"| halfvec expression | {half['bytes'] / 2**20:,.1f} | {half['build_s']:.1f} |"
            f" {half['recall']:.4f} | {half['p50_ms']:.2f} | {half['p95_ms']:.2f} |"
            f" {half['plan']} |",
            "",
            f"halfvec is {result['smaller_by']:.0%} smaller and {verdict}.",
            "",
        ]
    )
