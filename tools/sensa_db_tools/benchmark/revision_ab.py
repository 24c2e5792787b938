"""``--revisions BEFORE AFTER``: the benchmark's queries at two revisions, on the same data.

One database is migrated to head and populated as the benchmark does (the same
generated data set, HNSW indexes, VACUUM ANALYZE, ``bench_picks``); two clones
are made from it (``CREATE DATABASE ... TEMPLATE``, so the same pages and the
same statistics), and each is downgraded to its revision. Downgrading both,
rather than keeping one at head, leaves the revisions between them as the only
difference.

Each repetition measures every workload of ``LEARNER_WORKLOADS`` on both clones
(the same cases on both: the same seed), the clones in alternating order, and,
optionally, the pgbench API mix at one client count. The difference of each
query's p50 (after - before, as the app, row-level security applied) is paired
by repetition; its mean has a 95% confidence interval (Student t). A difference
whose interval contains 0 is within noise (the verdict reads the interval in ms;
the relative one, a mean of ratios, is printed beside it). The plan of a policy-filtered query
is printed for each clone, so that how the learner context is evaluated (an
InitPlan, computed once per statement) can be read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import psycopg
from pgvector.psycopg import register_vector

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools.benchmark import concurrency
from sensa_db_tools.benchmark.loading import BENCH_LOGINS, benchmark_database
from sensa_db_tools.benchmark.runner import (
    Options,
    _alembic,
    app_and_admin,
    direct_target,
    machine,
    populate,
)
from sensa_db_tools.benchmark.workloads import LEARNER_WORKLOADS, measure_learner_workloads
from sensa_db_tools.local_cluster import conninfo, create_database, drop_database

MARKDOWN_NAME = "revision_ab.md"
JSON_NAME = "revision_ab.json"
REPETITIONS = 5
# Queries whose policies name the learner, explained as the app on each clone.
POLICY_QUERIES = {
    "course_lookup": LEARNER_WORKLOADS[0].statement,
    "progress rows": "SELECT chapter_id, time_spent_seconds FROM public.user_progress",
}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _policy_plans(options: Options, dbname: str, learner: str) -> dict[str, str]:
    """EXPLAIN (VERBOSE, COSTS OFF) of ``POLICY_QUERIES`` as the app, naming ``learner``."""
    plans = {}
    with psycopg.connect(conninfo(options.server, dbname, BENCH_LOGINS[APP_ROLE])) as app:
        for name, statement in POLICY_QUERIES.items():
            app.execute("SELECT public.set_current_user_id(%s)", (learner,))
            rows = app.execute(
                "EXPLAIN (VERBOSE, COSTS OFF) " + statement,
                (learner,) * statement.count("%s"),
            ).fetchall()
            plans[name] = "\n".join(row[0] for row in rows)
            app.rollback()
    return plans


def _measure_once(
    options: Options, dbname: str, data: Any, seed: int, pgbench_clients: int | None
) -> dict[str, Any]:
    """One pass of the workloads (and the pgbench mix) on ``dbname``."""
    with app_and_admin(options.server, dbname) as (app, admin):
        measured = measure_learner_workloads(
            app,
            admin,
            data,
            warmup=options.scale.warmup,
            repetitions=options.scale.repetitions,
            seed=seed,
        )
    result: dict[str, Any] = {
        "p50_ms": {m.workload.name: m.app.p50 for m in measured},
        "baseline_p50_ms": {m.workload.name: m.admin.p50 for m in measured},
    }
    if pgbench_clients is not None:
        runs = concurrency.measure(
            (direct_target(options.server),),
            dbname,
            BENCH_LOGINS,
            options.server.password or "",
            clients=(pgbench_clients,),
            repetitions=1,
            seconds=options.concurrency_seconds,
        )
        result["tps"] = {run.role: run.tps for run in runs}
    return result


def _differences(
    passes: Sequence[dict[str, dict[str, Any]]], before: str, after: str
) -> list[dict[str, Any]]:
    """Per query: the median p50 at each revision and the paired difference's interval."""
    rows = []
    for workload in LEARNER_WORKLOADS:
        name = workload.name
        pairs = [(p[before]["p50_ms"][name], p[after]["p50_ms"][name]) for p in passes]
        rows.append(
            {
                "name": name,
                "before_p50_ms": [b for b, _ in pairs],
                "after_p50_ms": [a for _, a in pairs],
                "difference_ms": concurrency.mean_interval([a - b for b, a in pairs]),
                "relative": concurrency.mean_interval([a / b - 1 for b, a in pairs]),
            }
        )
    if all("tps" in p[before] for p in passes):
        pairs = [(p[before]["tps"][APP_ROLE], p[after]["tps"][APP_ROLE]) for p in passes]
        rows.append(
            {
                "name": "pgbench API mix, TPS as the app",
                "before_tps": [b for b, _ in pairs],
                "after_tps": [a for _, a in pairs],
                "relative": concurrency.mean_interval([a / b - 1 for b, a in pairs]),
            }
        )
    return rows


def verdict(interval: dict[str, float], *, higher_is_faster: bool = False) -> str:
    """``within noise`` when the 95% interval of the change contains 0, else which way
    it moved (a latency that rises is slower, a throughput that rises faster)."""
    if interval["low"] <= 0 <= interval["high"]:
        return "within noise"
    return "faster" if (interval["low"] > 0) == higher_is_faster else "slower"


def run_ab(
    options: Options,
    before: str,
    after: str,
    *,
    repetitions: int = REPETITIONS,
    pgbench_clients: int | None = None,
) -> dict[str, Any]:
    """Populate once at head, clone twice, downgrade each clone to its revision, measure
    alternating; the results, also written under ``options.output``."""
    clones: dict[str, str] = {}
    try:
        with benchmark_database(options.server, options.template, keep=False) as source:
            _say(f"database {source}: alembic upgrade head and the {options.scale.name} data set")
            _alembic(options.alembic_ini, "-x", f"url={conninfo(options.server, source)}",
                     "upgrade", "head")  # fmt: skip
            with psycopg.connect(conninfo(options.server, source)) as owner:
                register_vector(owner)
                facts = machine(owner)
                populated = populate(
                    options.server, source, owner, options.scale,
                    seed=options.seed, progress=options.progress,
                )  # fmt: skip
                with psycopg.connect(
                    conninfo(options.server, source, BENCH_LOGINS[ADMIN_ROLE])
                ) as admin:
                    concurrency.make_picks(owner, admin, populated.data)
            for revision in (before, after):
                clones[revision] = create_database(options.server, source, prefix="sensa_bench")
                _say(f"clone {clones[revision]}: alembic downgrade {revision}")
                _alembic(options.alembic_ini, "-x",
                         f"url={conninfo(options.server, clones[revision])}",
                         "downgrade", revision)  # fmt: skip
        learner = str(populated.data.user_ids[0])
        plans = {rev: _policy_plans(options, db, learner) for rev, db in clones.items()}
        passes: list[dict[str, dict[str, Any]]] = []
        for repetition in range(repetitions):
            order = [before, after] if repetition % 2 == 0 else [after, before]
            one: dict[str, dict[str, Any]] = {}
            for revision in order:
                _say(f"repetition {repetition + 1}/{repetitions}: {revision}")
                one[revision] = _measure_once(
                    options, clones[revision], populated.data,
                    options.seed + repetition, pgbench_clients,
                )  # fmt: skip
            passes.append(one)
    finally:
        for dbname in clones.values():
            drop_database(options.server, dbname, logins=tuple(BENCH_LOGINS.values()))
    results = {
        "before": before,
        "after": after,
        "scale": options.scale.as_dict(),
        "machine": facts,
        "repetitions": repetitions,
        "pgbench": (
            {"clients": pgbench_clients, "seconds": options.concurrency_seconds}
            if pgbench_clients is not None
            else None
        ),
        "passes": passes,
        "differences": _differences(passes, before, after),
        "plans": plans,
    }
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / JSON_NAME).write_text(json.dumps(results, indent=2, default=str))
    (options.output / MARKDOWN_NAME).write_text(render_markdown(results))
    return results


def _interval(interval: dict[str, float], unit: str) -> str:
    if unit == "%":
        return f"{interval['mean']:+.1%} ({interval['low']:+.1%} to {interval['high']:+.1%})"
    return f"{interval['mean']:+.3f} ({interval['low']:+.3f} to {interval['high']:+.3f})"


def render_markdown(results: dict[str, Any]) -> str:
    before, after = results["before"], results["after"]
    lines = [
        f"## The benchmark's queries at {before} (before) and {after} (after)",
        "",
        f"Data set: {results['scale']['name']} ({results['scale']['documents']:,} documents),"
        f" one populated database cloned twice. {results['repetitions']} repetitions, the"
        f" clones alternating; each p50 is over {results['scale']['repetitions']} timed"
        " executions as the app (row-level security applied). Differences are after -"
        " before, paired by repetition: mean (95% CI, Student t).",
        "",
        "| query | p50 before, ms (per repetition) | p50 after, ms | difference, ms"
        " | relative | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["differences"]:
        if "difference_ms" in row:
            lines.append(
                f"| {row['name']} | {' / '.join(f'{v:.3f}' for v in row['before_p50_ms'])} |"
                f" {' / '.join(f'{v:.3f}' for v in row['after_p50_ms'])} |"
                f" {_interval(row['difference_ms'], 'ms')} | {_interval(row['relative'], '%')} |"
                f" {verdict(row['difference_ms'])} |"
            )
        else:
            lines.append(
                f"| {row['name']} ({results['pgbench']['clients']} clients) |"
                f" {' / '.join(f'{v:,.0f}' for v in row['before_tps'])} TPS |"
                f" {' / '.join(f'{v:,.0f}' for v in row['after_tps'])} TPS | |"
                f" {_interval(row['relative'], '%')} |"
                f" {verdict(row['relative'], higher_is_faster=True)} |"
            )
    for revision, plans in results["plans"].items():
        for name, plan in plans.items():
            lines += ["", f"Plan at {revision}, {name} (as the app):", "", "```", plan, "```"]
    return "\n".join(lines) + "\n"
