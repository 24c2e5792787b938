"""``--halfvec``: the shipped halfvec(768) HNSW indexes against vector(768) ones.

Both HNSW indexes are built over ``embedding::halfvec(768)`` (2-byte floats,
half the bytes per element; revision ``52a077888982``). To show what that
changed, an HNSW index over the full-precision ``vector(768)`` (the design's,
before that revision) is built beside each, in the benchmark's own database,
with the same parameters and build settings; the same queries run through
each (``ORDER BY`` the matching expression, at the functions' ef_search and
iterative scan; the halfvec query as the functions run it, twice 10 candidates
ranked in full precision), taking turns query by query, and recall@10 is
measured against the exact answer over the full-precision vectors. The rule
for adopting halfvec: recall within 0.005 of the vector index's and the
index at least 40% smaller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from sensa_db_tools.benchmark.dataset import Dataset, Vectors
from sensa_db_tools.benchmark.loading import (
    PARALLEL_BUILD_WORKERS,
    build_index,
    full_precision_hnsw_index,
)
from sensa_db_tools.benchmark.plans import FUNCTION_SETTINGS, plan_nodes, summary
from sensa_db_tools.benchmark.workloads import (
    FULL_PRECISION_DOCUMENTS,
    FULL_PRECISION_KEYWORDS,
    NEAREST_DOCUMENTS,
    NEAREST_KEYWORDS,
    compare_recall,
    exact_neighbours,
)

Connection = psycopg.Connection[Any]

RECALL_TOLERANCE = 0.005
SMALLER_BY = 0.40


@dataclass(frozen=True)
class Searched:
    """One table's global search: its shipped index and the statements of both precisions."""

    table: str
    shipped_index: str
    half_precision: str
    full_precision: str


SEARCHES = (
    Searched(
        "processed_documents",
        "idx_processed_docs_embedding",
        NEAREST_DOCUMENTS,
        FULL_PRECISION_DOCUMENTS,
    ),
    Searched("keywords", "idx_keywords_embedding", NEAREST_KEYWORDS, FULL_PRECISION_KEYWORDS),
)


def _plan(admin: Connection, statement: str, query: Any) -> str:
    row = admin.execute(f"EXPLAIN (FORMAT JSON) {statement}", {"q": query}).fetchone()
    admin.rollback()
    if row is None:
        raise RuntimeError("EXPLAIN returned no plan")
    return summary(list(plan_nodes(row[0][0]["Plan"])))


def _index_bytes(owner: Connection, name: str) -> int:
    row = owner.execute("SELECT pg_relation_size(%s::regclass)", (f"public.{name}",)).fetchone()
    owner.commit()
    if row is None:
        raise RuntimeError(f"index {name} does not exist")
    return int(row[0])


def _compare(
    owner: Connection, admin: Connection, search: Searched, queries: Vectors, half_build_s: float
) -> dict[str, Any]:
    vector_index = full_precision_hnsw_index(search.table, f"bench_{search.table}_embedding_vector")
    vector_build_seconds = build_index(owner, vector_index, PARALLEL_BUILD_WORKERS)
    owner.execute(f"ANALYZE public.{search.table}")
    owner.commit()
    exacts = [exact_neighbours(admin, search.full_precision, {"q": q}) for q in queries]
    ef_search = int(FUNCTION_SETTINGS["hnsw.ef_search"])
    compared = compare_recall(
        admin,
        {"vector": search.full_precision, "halfvec": search.half_precision},
        queries,
        exacts,
        ef_search,
    )
    vector, half = compared["vector"], compared["halfvec"]
    figures = {
        "vector": {
            "bytes": _index_bytes(owner, str(vector_index.name)),
            "build_s": vector_build_seconds,
            "plan": _plan(admin, search.full_precision, queries[0]),
            "recall": vector.recall,
            **vector.latency.summary(),
        },
        "halfvec": {
            "bytes": _index_bytes(owner, search.shipped_index),
            "build_s": half_build_s,
            "plan": _plan(admin, search.half_precision, queries[0]),
            "recall": half.recall,
            **half.latency.summary(),
        },
    }
    owner.execute(f"DROP INDEX public.{vector_index.name}")
    owner.commit()
    smaller = 1 - figures["halfvec"]["bytes"] / figures["vector"]["bytes"]
    return {
        **figures,
        "smaller_by": smaller,
        "adopt": vector.recall - half.recall <= RECALL_TOLERANCE and smaller >= SMALLER_BY,
    }


def measure(
    owner: Connection,
    admin: Connection,
    data: Dataset,
    *,
    queries: int,
    seed: int,
    build_seconds: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Per table: size, parallel build time, recall@10 and latency of the shipped halfvec
    index (its build time from ``build_seconds``) and of a vector index built beside it."""
    rng = np.random.default_rng([seed, 16])
    document_queries = data.document_like(rng.integers(0, len(data.course_ids), size=queries))
    keyword_queries = data.keyword_like(rng.integers(0, len(data.document_ids), size=queries))
    return {
        search.table: _compare(
            owner,
            admin,
            search,
            table_queries,
            build_seconds[search.shipped_index]["parallel_s"],
        )
        for search, table_queries in zip(SEARCHES, (document_queries, keyword_queries), strict=True)
    }


def render_markdown(result: dict[str, Any]) -> str:
    lines = [
        "## HNSW over halfvec(768) (shipped) against vector(768) (before)",
        "",
        "| table | index | MiB | build s (parallel) | recall@10 | p50 | p95 | plan |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for table, figures in result.items():
        for label in ("vector", "halfvec"):
            index = figures[label]
            lines.append(
                f"| {table} | {label} | {index['bytes'] / 2**20:,.1f} | {index['build_s']:.1f} |"
                f" {index['recall']:.4f} | {index['p50_ms']:.2f} | {index['p95_ms']:.2f} |"
                f" {index['plan']} |"
            )
        verdict = "meets" if figures["adopt"] else "does not meet"
        verdicts.append(
            f"{table}: halfvec is {figures['smaller_by']:.0%} smaller and {verdict} the rule"
            " (recall within 0.005, at least 40% smaller)."
        )
    return "\n".join([*lines, "", *verdicts, ""])
