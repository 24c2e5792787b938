"""What would lift the global search's recall where the shipped graph falls short.

Run on a kept benchmark database (``sensa-db benchmark --keep``, or the
1,000,000-document point of ``--scale-curve --scale-curve-min 1000000 --keep``),
as the baseline, against the exact answer (a full scan in full precision), with
the held-out queries drawn as the benchmark draws them, beside the function as
shipped; the settings of one alternative take turns query by query:

* **the shipped graph at a larger ``hnsw.ef_search``**, with the iterative scan
  that ``find_similar_documents()`` turns on, re-ranking its 20 candidates;
* **binary quantization with re-ranking**: an HNSW graph over
  ``binary_quantize(embedding)::bit(768)`` (Hamming distance), its first
  candidates re-ranked in full precision;
* **partitioning by subject**: a graph over one subject's documents (a partial
  index, as that partition's own index would be), searched by queries of that
  subject, so the caller must name the subject.

Each index it builds is timed, sized and dropped at the end::

    python -m sensa_db_tools.benchmark.alternatives sensa_bench_xxxxxxxxxx --documents 1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from sqlalchemy import URL

from sensa_db.security import ADMIN_ROLE
from sensa_db_tools import local_cluster
from sensa_db_tools.benchmark import scale_curve
from sensa_db_tools.benchmark.dataset import SUBJECTS, Dataset, Vectors, generate
from sensa_db_tools.benchmark.loading import (
    BENCH_LOGINS,
    MAINTENANCE_WORK_MEM,
    PARALLEL_BUILD_WORKERS,
)
from sensa_db_tools.benchmark.plans import FUNCTION_SETTINGS
from sensa_db_tools.benchmark.scale import Scale
from sensa_db_tools.benchmark.timing import Samples
from sensa_db_tools.benchmark.workloads import (
    FULL_PRECISION_DOCUMENTS,
    NEAREST_DOCUMENTS,
    exact_neighbours,
    fetch_rows,
    recall,
)

QUERIES = 200
# Queries run once, unmeasured, before each setting's: the graph's pages into memory.
WARMUP = 20
EF_SEARCH = (64, 100, 200, 400, 800)
QUANTIZED_CANDIDATES = (100, 200, 400, 800)
SUBJECT_EF_SEARCH = (40, 64, 100)
MIB = 2**20

SHIPPED_FUNCTION = "SELECT processed_id FROM public.find_similar_documents(%(q)s, 10, -1)"
QUANTIZED_INDEX = "alternative_documents_binary"
QUANTIZED_NEAREST = (
    "SELECT candidates.processed_id FROM ("
    " SELECT pd.processed_id, pd.embedding <=> %(q)s AS distance"
    " FROM public.processed_documents pd"
    " ORDER BY binary_quantize(pd.embedding)::bit(768) <~> binary_quantize(%(q)s)::bit(768)"
    " LIMIT %(candidates)s"
    ") AS candidates ORDER BY candidates.distance LIMIT 10"
)
SUBJECT_INDEX = "alternative_documents_one_subject"
# A literal subject, so that the planner matches the partial index's predicate.
SUBJECT_NEAREST = (
    "SELECT candidates.processed_id FROM ("
    " SELECT pd.processed_id, pd.embedding <=> %(q)s AS distance"
    " FROM public.processed_documents pd WHERE pd.subject = {subject}"
    " ORDER BY pd.embedding::halfvec(768) <=> %(q)s::halfvec(768) LIMIT 20"
    ") AS candidates ORDER BY candidates.distance LIMIT 10"
)


@dataclasses.dataclass
class Variant:
    """One setting of one alternative: its query, the settings it runs under."""

    alternative: str
    setting: str
    statement: str
    settings: dict[str, str] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    latency: Samples = dataclasses.field(default_factory=Samples)
    recalls: list[float] = dataclasses.field(default_factory=list)

    def run(self, admin: psycopg.Connection[Any], query: Any) -> list[Any]:
        for name, value in self.settings.items():
            admin.execute(sql.SQL("SELECT set_config({}, {}, true)").format(name, value))
        rows = fetch_rows(admin, self.statement, {"q": query, **self.params})
        admin.commit()
        return rows

    def row(self) -> str:
        return (
            f"| {self.alternative} | {self.setting} | {float(np.mean(self.recalls)):.4f} |"
            f" {self.latency.p50:.2f} | {self.latency.p95:.2f} |"
        )


def scale_of(documents: int) -> Scale:
    """The data set of the benchmark run that made the kept database."""
    for scale in (scale_curve.MILLION, Scale.quick()):
        if documents == scale.documents:
            return scale
    return Scale.default(documents / Scale.default().documents)


def search(
    admin: psycopg.Connection[Any],
    variants: Sequence[Variant],
    queries: Vectors,
    exacts: Sequence[Sequence[Any]],
    rng: np.random.Generator,
) -> None:
    """Each query through every variant, the variants in random order query by query,
    so that a cache warming or a neighbour's load falls on all of them alike."""
    for query in queries[:WARMUP]:
        for variant in variants:
            variant.run(admin, query)
    for query, exact in zip(queries, exacts, strict=True):
        for index in rng.permutation(len(variants)):
            variant = variants[index]
            rows = variant.latency.time(partial(variant.run, admin, query))
            variant.recalls.append(recall([row[0] for row in rows], exact))


def build(owner: psycopg.Connection[Any], name: str, statement: str) -> tuple[float, float]:
    """Build an index as the benchmark builds its own: seconds, MiB."""
    owner.execute(sql.SQL("SET maintenance_work_mem = {}").format(MAINTENANCE_WORK_MEM))
    owner.execute(
        sql.SQL("SET max_parallel_maintenance_workers = {}").format(PARALLEL_BUILD_WORKERS)
    )
    started = time.perf_counter()
    owner.execute(statement)
    seconds = time.perf_counter() - started
    size = owner.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()
    return seconds, (size[0] if size else 0) / MIB


def drop(owner: psycopg.Connection[Any], name: str) -> None:
    owner.execute(sql.SQL("DROP INDEX IF EXISTS public.{}").format(sql.Identifier(name)))


def measure(server: URL, dbname: str, documents: int, *, queries: int, seed: int) -> list[str]:
    data: Dataset = generate(scale_of(documents), seed)
    rng = np.random.default_rng([seed, 99])
    everywhere = data.document_like(rng.integers(0, len(data.course_ids), size=queries))
    # The commonest subject: its partition is the largest, its search the hardest.
    course_subjects = data.course_topic % len(SUBJECTS)
    subject_index = int(np.bincount(course_subjects).argmax())
    subject = SUBJECTS[subject_index]
    of_subject = data.document_like(
        rng.choice(np.flatnonzero(course_subjects == subject_index), size=queries)
    )
    lines = [f"load average at the start {os.getloadavg()}", ""]
    variants: list[Variant] = []
    builds: list[str] = []
    # Searches as the benchmark's baseline (admin_role's login); indexes as the owner.
    with (
        psycopg.connect(local_cluster.conninfo(server, dbname, BENCH_LOGINS[ADMIN_ROLE])) as admin,
        psycopg.connect(local_cluster.conninfo(server, dbname), autocommit=True) as owner,
    ):
        register_vector(admin)
        exact_everywhere = [
            exact_neighbours(admin, FULL_PRECISION_DOCUMENTS, {"q": q}) for q in everywhere
        ]
        exact_of_subject = [
            exact_neighbours(admin, FULL_PRECISION_DOCUMENTS, {"q": q}) for q in of_subject
        ]

        def hnsw(ef_search: int) -> dict[str, str]:
            return {"hnsw.ef_search": str(ef_search), "hnsw.iterative_scan": "relaxed_order"}

        shipped = [
            Variant(
                "find_similar_documents() as shipped",
                f"ef_search {FUNCTION_SETTINGS['hnsw.ef_search']}",
                SHIPPED_FUNCTION,
            ),
            *(
                Variant(
                    "shipped graph, iterative scan", f"ef_search {ef}", NEAREST_DOCUMENTS, hnsw(ef)
                )
                for ef in EF_SEARCH
            ),
        ]
        search(admin, shipped, everywhere, exact_everywhere, rng)
        variants += shipped
        try:
            seconds, mib = build(
                owner,
                QUANTIZED_INDEX,
                f"CREATE INDEX {QUANTIZED_INDEX} ON public.processed_documents"
                " USING hnsw ((binary_quantize(embedding)::bit(768)) bit_hamming_ops)",
            )
            builds.append(f"| binary quantization (m 16) | {seconds:.0f} | {mib:,.0f} |")
            quantized = [
                Variant(
                    "binary quantization, re-ranked",
                    f"{candidates} candidates",
                    QUANTIZED_NEAREST,
                    hnsw(max(candidates, 40)),
                    {"candidates": candidates},
                )
                for candidates in QUANTIZED_CANDIDATES
            ]
            search(admin, quantized, everywhere, exact_everywhere, rng)
            variants += quantized
        finally:
            drop(owner, QUANTIZED_INDEX)
        try:
            seconds, mib = build(
                owner,
                SUBJECT_INDEX,
                f"CREATE INDEX {SUBJECT_INDEX} ON public.processed_documents"
                " USING hnsw ((embedding::halfvec(768)) halfvec_cosine_ops)"
                f" WHERE subject = {sql.Literal(subject).as_string(owner)}",
            )
            share = np.mean(course_subjects[data.document_course] == subject_index)
            builds.append(
                f"| one subject's graph ({subject}, {share:.1%} of the documents)"
                f" | {seconds:.0f} | {mib:,.0f} |"
            )
            statement = SUBJECT_NEAREST.format(subject=sql.Literal(subject).as_string(admin))
            by_subject = [
                Variant(
                    f"partition by subject ({subject} queries)",
                    f"ef_search {ef}",
                    statement,
                    hnsw(ef),
                )
                for ef in SUBJECT_EF_SEARCH
            ]
            search(admin, by_subject, of_subject, exact_of_subject, rng)
            variants += by_subject
        finally:
            drop(owner, SUBJECT_INDEX)
    lines += [
        f"## Beyond the shipped graph at {documents:,} documents ({queries} queries)",
        "",
        "recall@10 against the exact answer over every document; wall-clock ms as the client"
        " saw it.",
        "",
        "| alternative | setting | recall@10 | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
        *(variant.row() for variant in variants),
        "",
        "| index built | build s | MiB |",
        "|---|---|---|",
        *builds,
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("dbname", help="a kept benchmark database")
    parser.add_argument("--documents", type=int, required=True, help="its number of documents")
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--seed", type=int, default=7, help="the seed the benchmark ran with")
    args = parser.parse_args(argv)
    server = local_cluster.server_from_environment()
    lines = measure(server, args.dbname, args.documents, queries=args.queries, seed=args.seed)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
