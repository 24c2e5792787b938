"""``--scale-curve``: the whole benchmark at growing sizes, and how its costs grow.

Each size is a full run (its own database, load, serial and parallel HNSW
builds, latency, recall) written under ``scale-<documents>/``; this module
gathers what a capacity plan needs into one table and one plot
(``scale_curve.md``, ``scale_curve.png``): load time, build times, table and
index sizes, the learner's and the global search's p95 and recall, and the
other queries' p95.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sensa_db_tools.benchmark.runner import Options, run
from sensa_db_tools.benchmark.scale import Scale

# 10,000 and 100,000 documents, with the data set's three keywords per document.
SIZES = (Scale.default(0.1), Scale.default(1.0))
# 1,000,000 documents with one keyword each (the least the generator makes), timing
# only the parallel HNSW builds: three million keywords, and each index built twice,
# would add hours on a 2-core machine and no point the curve lacks (the serial
# builds are timed at the two smaller sizes).
MILLION = dataclasses.replace(Scale.default(10.0), keywords=1_000_000)
MARKDOWN_NAME = "scale_curve.md"
PLOT_NAME = "scale_curve.png"
OTHER_QUERIES = ("course_lookup", "search_keywords_typo", "course_stats", "progress_summary")
MIB = 2**20


def sizes_between(smallest: int, largest: int) -> tuple[Scale, ...]:
    """The curve's sizes from ``smallest`` to ``largest`` documents (the million only
    when asked for: it takes hours)."""
    million = (MILLION,) if largest >= MILLION.documents else ()
    return tuple(size for size in SIZES + million if smallest <= size.documents <= largest)


def run_curve(options: Options, sizes: Sequence[Scale] = SIZES) -> list[dict[str, Any]]:
    points = []
    for scale in sizes:
        results = run(
            dataclasses.replace(
                options,
                scale=scale,
                output=options.output / f"scale-{scale.documents}",
                serial_builds=scale != MILLION,
            )
        )
        points.append(point(results))
        options.output.mkdir(parents=True, exist_ok=True)
        (options.output / MARKDOWN_NAME).write_text(render_markdown(points))
        plot(points, options.output / PLOT_NAME)
    return points


def point(results: dict[str, Any]) -> dict[str, Any]:
    """The figures of one size that the curve follows."""
    latency = {row["name"]: row for row in results["latency"]}
    vector = results["vector"]
    builds = results["indexes"]
    sizes = results["sizes"]
    return {
        "documents": results["scale"]["documents"],
        "keywords": results["scale"]["keywords"],
        "load_s": results["load"]["seconds"],
        "build_serial_s": (
            sum(build["serial_s"] for build in builds.values())
            if all("serial_s" in build for build in builds.values())
            else None
        ),
        "build_parallel_s": sum(build["parallel_s"] for build in builds.values()),
        "documents_table_mib": (
            sizes["processed_documents heap"] + sizes["processed_documents TOAST"]
        )
        / MIB,
        "documents_index_mib": sizes["idx_processed_docs_embedding"] / MIB,
        "keywords_index_mib": sizes["idx_keywords_embedding"] / MIB,
        "learner_search_p95_ms": latency["find_similar_documents"]["app"]["p95_ms"],
        "learner_search_plan": latency["find_similar_documents"]["plans"]["app"],
        "global_search_p95_ms": vector["function_latency"]["p95_ms"],
        "global_search_recall": vector["function_recall"],
        "global_search_plan": vector["function_plan"],
        "other_p95_ms": {name: latency[name]["app"]["p95_ms"] for name in OTHER_QUERIES},
    }


def render_markdown(points: Sequence[dict[str, Any]]) -> str:
    lines = [
        "## Scale curve",
        "",
        "| documents | keywords | load s | HNSW builds serial / parallel s | documents table MiB"
        " | documents / keywords index MiB | learner search p95 | global search p95"
        " | global recall@10 | " + " | ".join(f"{name} p95" for name in OTHER_QUERIES) + " |",
        "|---" * (9 + len(OTHER_QUERIES)) + "|",
    ]
    for entry in points:
        lines.append(
            f"| {entry['documents']:,} | {entry['keywords']:,} | {entry['load_s']:.0f} |"
            f" {_seconds(entry['build_serial_s'])} / {entry['build_parallel_s']:.0f} |"
            f" {entry['documents_table_mib']:,.0f} |"
            f" {entry['documents_index_mib']:,.0f} / {entry['keywords_index_mib']:,.0f} |"
            f" {entry['learner_search_p95_ms']:.2f} | {entry['global_search_p95_ms']:.2f} |"
            f" {entry['global_search_recall']:.4f} | "
            + " | ".join(f"{entry['other_p95_ms'][name]:.2f}" for name in OTHER_QUERIES)
            + " |"
        )
    return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> str:
    return "not timed" if value is None else f"{value:.0f}"


def _log_log(axes: Any, ylabel: str) -> None:
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("documents")
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")


def plot(points: Sequence[dict[str, Any]], path: Path) -> None:
    """p95 latency and HNSW index size against the number of documents (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    documents = [entry["documents"] for entry in points]
    figure, (latency_axes, size_axes) = pyplot.subplots(1, 2, figsize=(11, 4.5))
    latency_axes.plot(documents, [e["global_search_p95_ms"] for e in points], marker="o",
                      label="global search (HNSW)")  # fmt: skip
    latency_axes.plot(documents, [e["learner_search_p95_ms"] for e in points], marker="o",
                      label="learner search (exact)")  # fmt: skip
    for name in OTHER_QUERIES:
        latency_axes.plot(documents, [e["other_p95_ms"][name] for e in points], marker=".",
                          linestyle="--", label=name)  # fmt: skip
    _log_log(latency_axes, "p95 latency (ms)")
    size_axes.plot(documents, [e["documents_index_mib"] for e in points], marker="o",
                   label="idx_processed_docs_embedding")  # fmt: skip
    size_axes.plot(documents, [e["keywords_index_mib"] for e in points], marker="o",
                   label="idx_keywords_embedding")  # fmt: skip
    size_axes.plot(documents, [e["documents_table_mib"] for e in points], marker="s",
                   linestyle="--", label="processed_documents table")  # fmt: skip
    _log_log(size_axes, "MiB")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
