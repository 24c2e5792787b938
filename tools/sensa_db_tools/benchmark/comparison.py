"""``--real``: the benchmark on real embeddings beside a synthetic set of the same size.

Both runs are whole benchmarks (their own database, load, index builds,
latency, recall), written to ``real/`` and ``synthetic/`` under the output
directory; this module puts their recall curves side by side in one table and
one plot (``real_vs_synthetic.md``, ``real_vs_synthetic.png``).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

from sensa_db_tools.benchmark import structure
from sensa_db_tools.benchmark.corpus import REAL_PARAGRAPHS
from sensa_db_tools.benchmark.dataset import Dataset, Vectors, generate
from sensa_db_tools.benchmark.real import build
from sensa_db_tools.benchmark.runner import Options, run
from sensa_db_tools.benchmark.scale import Scale

MARKDOWN_NAME = "real_vs_synthetic.md"
PLOT_NAME = "real_vs_synthetic.png"
# Queries of the structure measurement: about as many as the real set holds out.
STRUCTURE_QUERIES = 500
SWEEPS = (("documents", "sweep"), ("keywords", "keyword_sweep"))


def run_real(options: Options, paragraphs: int = REAL_PARAGRAPHS) -> dict[str, Any]:
    """Run the benchmark on the real data set, then on a synthetic one of as many rows;
    measure both sets' structure."""
    print("reading and embedding the real corpus (cached after the first run)", file=sys.stderr)
    real_data = build(seed=options.seed, paragraphs=paragraphs)
    real = run(
        dataclasses.replace(options, output=options.output / "real", halfvec=True), real_data
    )
    synthetic_scale = same_size(real_data.scale)
    synthetic_data = generate(synthetic_scale, options.seed)
    synthetic = run(
        dataclasses.replace(options, scale=synthetic_scale, output=options.output / "synthetic"),
        synthetic_data,
    )
    embedding = real_data.embedding
    results = {
        "embedding": {
            "model": embedding.model if embedding else None,
            "seconds": embedding.embed_seconds if embedding else None,
        },
        "real": real,
        "synthetic": synthetic,
        "structure": {
            **_structures(
                "real", real_data, real_data.held_out_documents, real_data.held_out_keywords
            ),
            **_structures(
                "synthetic", synthetic_data, *_synthetic_queries(synthetic_data, options.seed)
            ),
        },
    }
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / MARKDOWN_NAME).write_text(render_markdown(results))
    plot(results, options.output / PLOT_NAME)
    return results


def _synthetic_queries(data: Dataset, seed: int) -> tuple[Vectors, Vectors]:
    """As many queries as the real set holds out, drawn as the benchmark draws them."""
    rng = np.random.default_rng([seed, STRUCTURE_QUERIES])
    courses = rng.integers(0, len(data.course_ids), size=STRUCTURE_QUERIES)
    documents = rng.integers(0, len(data.document_ids), size=STRUCTURE_QUERIES)
    return data.document_like(courses), data.keyword_like(documents)


def _structures(
    name: str, data: Dataset, document_queries: Vectors, keyword_queries: Vectors
) -> dict[str, dict[str, Any]]:
    keyword_courses = data.document_course[data.keyword_document]
    return {
        f"{name} documents": structure.measure(
            data.document_vectors, document_queries[:STRUCTURE_QUERIES], data.document_course
        ),
        f"{name} keywords": structure.measure(
            data.keyword_vectors, keyword_queries[:STRUCTURE_QUERIES], keyword_courses
        ),
    }


def same_size(real: Scale) -> Scale:
    """The synthetic scale of ``real``'s rows: as many learners, courses, documents and
    keywords (recall depends on how many rows the index holds), the default's topics."""
    return dataclasses.replace(
        Scale.default(real.documents / 100_000),
        name=f"synthetic as {real.name}",
        learners=real.learners,
        courses=real.courses,
        documents=real.documents,
        keywords=real.keywords,
    )


def _embedding_time(seconds: float | None) -> str:
    if seconds is None:
        return "embedded once, cached; that run's time was not recorded"
    return f"embedding took {seconds:,.0f} s of model time, cached"


def render_markdown(results: dict[str, Any]) -> str:
    real, synthetic = results["real"], results["synthetic"]
    embedding = results["embedding"]
    lines = [
        "# Real embeddings beside synthetic ones",
        "",
        f"Real: {real['data']} ({_embedding_time(embedding['seconds'])})."
        f" Synthetic: {synthetic['data']}. recall@10 of the HNSW search over every row"
        " against an exact scan; latency client-side, ms.",
        "",
        "| hnsw.ef_search | set | documents recall@10 | p95 | keywords recall@10 | p95 |",
        "|---|---|---|---|---|---|",
    ]
    for position, point in enumerate(real["vector"]["sweep"]):
        for name, run_results in (("real", real), ("synthetic", synthetic)):
            documents = run_results["vector"]["sweep"][position]
            keywords = run_results["vector"]["keyword_sweep"][position]
            lines.append(
                f"| {point['ef_search']} | {name} | {documents['recall']:.4f} |"
                f" {documents['latency']['p95_ms']:.2f} | {keywords['recall']:.4f} |"
                f" {keywords['latency']['p95_ms']:.2f} |"
            )
    lines += ["", "| find_similar_documents as shipped | recall@10 | p50 | p95 | plan |"]
    lines += ["|---|---|---|---|---|"]
    for name, run_results in (("real", real), ("synthetic", synthetic)):
        vector = run_results["vector"]
        latency = vector["function_latency"]
        lines.append(
            f"| {name} ({run_results['scale']['documents']:,} documents) |"
            f" {vector['function_recall']:.4f} | {latency['p50_ms']:.2f} |"
            f" {latency['p95_ms']:.2f} | {vector['function_plan']} |"
        )
    lines += [
        "",
        "Structure of the embeddings (`structure.measure`: 2,000 sampled rows,"
        f" {STRUCTURE_QUERIES} queries; distances are cosine distances):",
        "",
        *structure.render(results["structure"]),
    ]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """recall@10 against p95 latency over hnsw.ef_search: real and synthetic, both tables."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7.5, 4.8))
    styles = {"real": "-", "synthetic": "--"}
    markers = {"documents": "o", "keywords": "s"}
    for name in ("real", "synthetic"):
        for table, key in SWEEPS:
            sweep = results[name]["vector"][key]
            axes.plot(
                [point["latency"]["p95_ms"] for point in sweep],
                [point["recall"] for point in sweep],
                linestyle=styles[name],
                marker=markers[table],
                label=f"{name} {table}",
            )
            first = sweep[0]
            axes.annotate(
                f"ef={first['ef_search']}",
                (first["latency"]["p95_ms"], first["recall"]),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize="small",
            )
    axes.set_xlabel("p95 latency (ms)")
    axes.set_ylabel("recall@10")
    axes.set_title("HNSW recall over hnsw.ef_search (10 to 400): real vs synthetic")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
