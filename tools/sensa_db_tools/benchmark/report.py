"""The results as JSON, as a markdown table beside the design's figures, and as a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JSON_NAME = "benchmark.json"
MARKDOWN_NAME = "benchmark.md"
PLOT_NAME = "recall_vs_latency.png"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _target(value: float | None, prefix: str = "< ") -> str:
    return "" if value is None else f"{prefix}{value:g} ms"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _met(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "**no**")


def render_markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    scale = results["scale"]
    load = results["load"]
    lines = [
        f"# sensa-db benchmark: {scale['name']} size",
        "",
        f"Machine: {machine['cpu_count']} cores, {machine['memory_gib']} GiB RAM,"
        f" PostgreSQL {machine['postgresql']}, pgvector {machine['pgvector']},"
        f" shared_buffers {machine['shared_buffers']} ({machine['platform']})."
        f" Run {results['started_at']}, {results['duration_s']:.0f} s.",
        "",
        f"Data: {scale['learners']:,} learners, {scale['courses']:,} courses,"
        f" {scale['documents']:,} processed documents, {scale['keywords']:,} keywords"
        f" ({results['data']}); {load['total_rows']:,} rows in all. Latencies are"
        f" client-side, {scale['repetitions']} repetitions after {scale['warmup']} warm-up.",
        "",
        "## Targets",
        "",
        "| what | target | measured | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t['what']} | {t['target']} | {t['measured']} | {_met(t['met'])} |"
        for t in results["targets"]
    ]
    lines += [
        "",
        "## Latency (ms)",
        "",
        "As the API runs them: a `sensa_app` login with a learner named by"
        " `set_current_user_id`. Baseline: the same SQL as an `admin_role` login, whose"
        " policies are `USING (true)` (row-level security not applied), alternating with"
        " the app on the same data. † the baseline answers over every learner's rows, the"
        " app over its learner's only: not the same work.",
        "",
        "| query | p50 | p95 | p99 | design | target (p95) | baseline p50 | RLS overhead (p50)"
        " | plan (app) | plan (baseline) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["latency"]:
        app, baseline = row["app"], row["baseline"]
        overhead = f"{(row['rls_ratio_p50'] - 1) * 100:+.1f}%"
        mark = "" if row["same_rows"] else " †"
        lines.append(
            f"| {row['name']}{mark} | {_ms(app['p50_ms'])} | {_ms(app['p95_ms'])} |"
            f" {_ms(app['p99_ms'])} | {_target(row['design_ms'])} |"
            f" {_target(row['target_ms'], '<= ')} | {_ms(baseline['p50_ms'])} | {overhead} |"
            f" {row['plans']['app']} | {row['plans']['baseline']} |"
        )
    for row in results["other_latency"]:
        summary = row["samples"]
        lines.append(
            f"| {row['name']} | {_ms(summary['p50_ms'])} | {_ms(summary['p95_ms'])} |"
            f" {_ms(summary['p99_ms'])} | {_target(row['design_ms'])} |"
            f" {_target(row['target_ms'], '<= ')} | | | {row.get('plan', '')} | |"
        )
    vector = results["vector"]
    lines += [
        "",
        "## Vector search quality",
        "",
        f"recall@10 against an exact scan, {scale['recall_queries']} queries, as the"
        " baseline (all 100% of the rows). The sweep runs `find_similar_documents`'s inner"
        " query at each `hnsw.ef_search`; the function pins its own.",
        "",
        "| hnsw.ef_search | documents recall@10 | p50 | p95 | keywords recall@10 | p50 | p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {point['ef_search']} | {point['recall']:.4f} | {_ms(point['latency']['p50_ms'])} |"
        f" {_ms(point['latency']['p95_ms'])} | {keyword['recall']:.4f} |"
        f" {_ms(keyword['latency']['p50_ms'])} | {_ms(keyword['latency']['p95_ms'])} |"
        for point, keyword in zip(vector["sweep"], vector["keyword_sweep"], strict=True)
    ]
    lines += [
        f"| `find_similar_documents` as shipped ({vector['function_plan']}) |"
        f" {vector['function_recall']:.4f} |"
        f" {_ms(vector['function_latency']['p50_ms'])} |"
        f" {_ms(vector['function_latency']['p95_ms'])} | | | |",
        "",
        f"`find_similar_keywords` filtered to one course: recall@10"
        f" {vector['course_keyword_recall']:.4f}, full 10 rows in"
        f" {vector['course_keyword_full_share']:.1%} of queries, p95"
        f" {_ms(vector['course_keyword_latency']['p95_ms'])} ms.",
        "",
        "## Load, index builds, migrations",
        "",
        f"Generated in {load['generate_seconds']:.1f} s; loaded {load['total_rows']:,} rows in"
        f" {load['seconds']:.1f} s ({load['rows_per_second']:,.0f} rows/s) through staging"
        " COPY and INSERT ... SELECT under row-level security and every trigger.",
        "",
        "| table | rows | s | rows/s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t['table']} | {t['rows']:,} | {t['seconds']:.2f} | {t['rows_per_second']:,.0f} |"
        for t in load["tables"]
    ]
    lines += ["", "| HNSW index build | serial s | parallel s |", "|---|---|---|"]
    lines += [
        f"| {name} | {_seconds(builds.get('serial_s'))} | {_seconds(builds['parallel_s'])} |"
        for name, builds in results["indexes"].items()
    ]
    lines += ["", "| relation | MiB |", "|---|---|"]
    lines += [f"| {name} | {size / 2**20:,.1f} |" for name, size in results["sizes"].items()]
    if "halfvec" in results:
        from sensa_db_tools.benchmark.halfvec import render_markdown as halfvec_markdown

        lines += ["", halfvec_markdown(results["halfvec"])]
    if "concurrency" in results:
        from sensa_db_tools.benchmark.concurrency import render_markdown as concurrency_markdown
        from sensa_db_tools.benchmark.concurrency import render_request_costs

        throughput = results["concurrency"]
        lines += [
            "",
            concurrency_markdown(
                throughput["rows"],
                throughput["seconds"],
                throughput["repetitions"],
                read_only=throughput.get("read_only", False),
            ),
            "",
            render_request_costs(throughput["request_costs"]),
        ]
        if "replication_lag" in throughput:
            from sensa_db_tools.benchmark.replica import render_markdown as lag_markdown

            lines += ["", lag_markdown(throughput["replication_lag"], throughput["standby"])]
    migrations = results["migrations"]
    lines += [
        "",
        f"`alembic upgrade head` on an empty database: {migrations['alembic_upgrade_s']:.2f} s;"
        f" its offline SQL (rendered in {migrations['offline_render_s']:.2f} s) applied with"
        f" psql: {migrations['psql_apply_s']:.2f} s; ratio {migrations['ratio']:.1f}x.",
        "",
    ]
    return "\n".join(lines)


# find_similar_documents' performance targets, drawn on the plot.
TARGET_RECALL = 0.95
TARGET_P95_MS = 15


def plot(results: dict[str, Any], path: Path) -> None:
    """recall@10 against p95 latency, one point per hnsw.ef_search."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sweep = results["vector"]["sweep"]
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    keyword_sweep = results["vector"]["keyword_sweep"]
    axes.plot(
        [point["latency"]["p95_ms"] for point in keyword_sweep],
        [point["recall"] for point in keyword_sweep],
        marker="s",
        color="tab:green",
        label="keywords: ORDER BY embedding::halfvec <=> q LIMIT 10",
    )
    latencies = [point["latency"]["p95_ms"] for point in sweep]
    recalls = [point["recall"] for point in sweep]
    axes.plot(
        latencies,
        recalls,
        marker="o",
        label="documents: ORDER BY embedding::halfvec <=> q LIMIT 10",
    )
    # Points closer than 3% of the plot's span (a small data set reaches the same
    # recall at nearly the same latency for several ef_search values) share one
    # label instead of overprinting each other.
    x_near = 0.03 * max(max(latencies) - min(latencies), TARGET_P95_MS)
    y_near = 0.03 * max(max(recalls) - min(recalls), 1 - TARGET_RECALL)
    groups: list[tuple[float, float, list[str]]] = []
    for point, x, y in zip(sweep, latencies, recalls, strict=True):
        if groups and abs(groups[-1][0] - x) < x_near and abs(groups[-1][1] - y) < y_near:
            groups[-1][2].append(str(point["ef_search"]))
        else:
            groups.append((x, y, [str(point["ef_search"])]))
    for x, y, values in groups:
        axes.annotate(
            f"ef={', '.join(values)}", (x, y), textcoords="offset points", xytext=(4, -10)
        )
    function = results["vector"]
    axes.scatter(
        [function["function_latency"]["p95_ms"]],
        [function["function_recall"]],
        marker="*",
        s=160,
        color="tab:red",
        label="find_similar_documents as shipped",
    )
    axes.axhline(TARGET_RECALL, linestyle=":", color="grey", label=f"target recall {TARGET_RECALL}")
    axes.axvline(
        TARGET_P95_MS, linestyle="--", color="grey", label=f"target p95 {TARGET_P95_MS} ms"
    )
    axes.set_xlabel("p95 latency (ms)")
    axes.set_ylabel("recall@10")
    axes.set_title(
        f"HNSW over {results['scale']['documents']:,} documents (m=16, ef_construction=64)"
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def write(results: dict[str, Any], output: Path) -> dict[str, Path]:
    """Write the JSON, markdown and PNG into ``output``; their paths."""
    output.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": output / JSON_NAME,
        "markdown": output / MARKDOWN_NAME,
        "plot": output / PLOT_NAME,
    }
    paths["json"].write_text(json.dumps(results, indent=2, default=str) + "\n")
    paths["markdown"].write_text(render_markdown(results))
    plot(results, paths["plot"])
    return paths
