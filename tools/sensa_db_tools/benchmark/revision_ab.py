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

Each repetition also runs the global vector searches (``GLOBAL_SEARCHES``: every
row, as the baseline login, which the worker's and staff's searches are), with
their p50, p95 and the backend's CPU time per call; with ``--concurrency`` the
pgbench mix as the app and as the baseline at each ``--concurrency-clients``
count on every target (the server, ``--target`` PgBouncer), giving row-level
security's overhead on throughput at each revision; and, where the server's
processes can be read from here, the server's CPU time per request as the app
and as the baseline (``server_cpu``), the measure of that overhead that a
loaded machine moves least.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools.benchmark import concurrency, server_cpu
from sensa_db_tools.benchmark.loading import BENCH_LOGINS, benchmark_database
from sensa_db_tools.benchmark.plans import FUNCTION_SETTINGS
from sensa_db_tools.benchmark.runner import (
    Options,
    _alembic,
    app_and_admin,
    direct_target,
    machine,
    populate,
)
from sensa_db_tools.benchmark.timing import Samples
from sensa_db_tools.benchmark.workloads import (
    FULL_PRECISION_DOCUMENTS,
    FULL_PRECISION_KEYWORDS,
    LEARNER_WORKLOADS,
    exact_neighbours,
    fetch_rows,
    measure_learner_workloads,
    recall,
)
from sensa_db_tools.local_cluster import conninfo, create_database, drop_database

MARKDOWN_NAME = "revision_ab.md"
JSON_NAME = "revision_ab.json"
REPETITIONS = 5
# Queries whose policies name the learner, explained as the app on each clone.
POLICY_QUERIES = {
    "course_lookup": LEARNER_WORKLOADS[0].statement,
    "progress rows": "SELECT chapter_id, time_spent_seconds FROM public.user_progress",
}


# The worker's and staff's searches over every row, as the baseline login runs them.
# Each: the search, its exact answer (index scans off) and how its queries are drawn.
# The functions' inner queries run alone beside them (the same columns, under the
# functions' hnsw.* settings), so that what a function adds to its index scan reads
# as the difference of the two at the same revision.
def _document_queries(data: Any, courses: Any) -> Any:
    return data.document_like(courses)


def _keyword_queries(data: Any, courses: Any) -> Any:
    """A keyword query per course: like a keyword of the course's first document."""
    return data.keyword_like(
        np.array([int(np.flatnonzero(data.document_course == c)[0]) for c in courses])
    )


GLOBAL_SEARCHES: dict[str, tuple[str, str, Callable[[Any, Any], Any]]] = {
    "find_similar_documents over all documents": (
        "SELECT processed_id, document_id, course_id, subject, similarity"
        " FROM public.find_similar_documents(%(q)s, 10, -1)",
        FULL_PRECISION_DOCUMENTS,
        _document_queries,
    ),
    "its inner query alone": (
        "SELECT nearest.processed_id, nearest.document_id, nearest.course_id, nearest.subject,"
        " 1 - nearest.distance FROM (SELECT pd.processed_id, pd.document_id, pd.course_id,"
        " pd.subject, pd.embedding <=> %(q)s AS distance FROM public.processed_documents pd"
        " ORDER BY pd.embedding::halfvec(768) <=> %(q)s::halfvec(768) LIMIT 20) AS nearest"
        " WHERE 1 - nearest.distance >= -1 ORDER BY nearest.distance, nearest.processed_id"
        " LIMIT 10",
        FULL_PRECISION_DOCUMENTS,
        _document_queries,
    ),
    "find_similar_keywords over all keywords": (
        "SELECT keyword_id, chapter_id, term, definition, similarity"
        " FROM public.find_similar_keywords(%(q)s, 10, -1)",
        FULL_PRECISION_KEYWORDS,
        _keyword_queries,
    ),
    "its inner query alone ": (
        "SELECT nearest.keyword_id, nearest.chapter_id, nearest.term, nearest.definition,"
        " 1 - nearest.distance FROM (SELECT k.keyword_id, k.chapter_id, k.term, k.definition,"
        " k.embedding <=> %(q)s AS distance FROM public.keywords k"
        " ORDER BY k.embedding::halfvec(768) <=> %(q)s::halfvec(768) LIMIT 20) AS nearest"
        " WHERE 1 - nearest.distance >= -1 ORDER BY nearest.distance, nearest.keyword_id"
        " LIMIT 10",
        FULL_PRECISION_KEYWORDS,
        _keyword_queries,
    ),
}
RECALL_QUERIES = 200


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


def _recall_set(admin: psycopg.Connection[Any], data: Any, seed: int) -> dict[str, Any]:
    """Per global search: ``RECALL_QUERIES`` queries and their exact ten nearest (the same
    data on both clones, so computed once, on the populated database)."""
    courses = np.random.default_rng([seed, 13]).integers(0, len(data.course_ids), RECALL_QUERIES)
    sets = {}
    for name, (_, exact_statement, make) in GLOBAL_SEARCHES.items():
        queries = make(data, courses)
        sets[name] = [
            (query, exact_neighbours(admin, exact_statement, {"q": query})) for query in queries
        ]
    return sets


def turns(names: list[str], position: int) -> list[str]:
    """The order in which ``names`` run the query at ``position``: as listed, then reversed,
    so that each search runs first as often as last. A function and its inner query answer
    the same query, and the second to search a graph finds its pages in the CPU's caches:
    in a fixed order the first looked about 0.1 ms dearer per call at 10,000 documents."""
    return names if position % 2 == 0 else names[::-1]


def _global_searches(
    admin: psycopg.Connection[Any], data: Any, options: Options, seed: int, exact: dict[str, Any]
) -> dict[str, Any]:
    """p50, p95 (ms), mean backend CPU time (µs, None where unreadable) and recall@10
    (against ``exact``) of each of ``GLOBAL_SEARCHES``, the searches taking turns query by
    query (``turns``)."""
    rng = np.random.default_rng([seed, 11])
    count = options.scale.warmup + options.scale.repetitions
    courses = rng.integers(0, len(data.course_ids), size=count)
    queries = {name: make(data, courses) for name, (_, _, make) in GLOBAL_SEARCHES.items()}
    cpu = server_cpu.backend_cpu(admin)
    for setting, value in FUNCTION_SETTINGS.items():
        if setting.startswith("hnsw."):
            admin.execute(
                sql.SQL("SET {} = {}").format(sql.Identifier(setting), sql.Literal(value))
            )
    admin.commit()
    latency = {name: Samples() for name in GLOBAL_SEARCHES}
    spent: dict[str, list[float]] = {name: [] for name in GLOBAL_SEARCHES}
    for position in range(count):
        for name in turns(list(GLOBAL_SEARCHES), position):
            statement = GLOBAL_SEARCHES[name][0]
            search = partial(fetch_rows, admin, statement, {"q": queries[name][position]})
            if position < options.scale.warmup:
                search()
            elif cpu is None:
                latency[name].time(search)
            else:
                _, microseconds = server_cpu.timed_cpu(cpu, partial(latency[name].time, search))
                spent[name].append(microseconds)
            admin.commit()
    recalls = {}
    for name, (statement, _, _) in GLOBAL_SEARCHES.items():
        found = [fetch_rows(admin, statement, {"q": query}) for query, _ in exact[name]]
        admin.commit()
        recalls[name] = statistics.fmean(
            recall([row[0] for row in rows], truth)
            for rows, (_, truth) in zip(found, exact[name], strict=True)
        )
    return {
        name: {
            "p50_ms": latency[name].p50,
            "p95_ms": latency[name].p95,
            "cpu_us": statistics.fmean(spent[name]) if spent[name] else None,
            "recall": recalls[name],
        }
        for name in GLOBAL_SEARCHES
    }


def _measure_once(
    options: Options,
    dbname: str,
    data: Any,
    seed: int,
    pgbench_clients: int | None,
    repetition: int,
    exact: dict[str, Any],
) -> dict[str, Any]:
    """One pass of the workloads, the global searches, the server CPU per request and the
    pgbench mix on ``dbname``."""
    with app_and_admin(options.server, dbname) as (app, admin):
        measured = measure_learner_workloads(
            app,
            admin,
            data,
            warmup=options.scale.warmup,
            repetitions=options.scale.repetitions,
            seed=seed,
        )
        searches = _global_searches(admin, data, options, seed, exact)
    result: dict[str, Any] = {
        "p50_ms": {m.workload.name: m.app.p50 for m in measured},
        "baseline_p50_ms": {m.workload.name: m.admin.p50 for m in measured},
        "global_searches": searches,
        "server_cpu": server_cpu.request_costs(options.server, dbname, seed=seed),
    }
    if options.concurrency_targets:
        runs = concurrency.measure(
            options.concurrency_targets,
            dbname,
            BENCH_LOGINS,
            options.server.password or "",
            clients=options.concurrency_clients,
            repetitions=1,
            seconds=options.concurrency_seconds,
        )
        result["concurrency"] = [vars(replace(run, repetition=repetition)) for run in runs]
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


def _global_differences(
    passes: Sequence[dict[str, dict[str, Any]]], before: str, after: str
) -> list[dict[str, Any]]:
    """Per global search and figure (p50, p95, CPU): each revision's values and the
    paired difference's interval."""
    rows = []
    for name in GLOBAL_SEARCHES:
        for figure in ("recall", "p50_ms", "p95_ms", "cpu_us"):
            pairs = [
                (
                    p[before]["global_searches"][name][figure],
                    p[after]["global_searches"][name][figure],
                )
                for p in passes
            ]
            if any(value is None for pair in pairs for value in pair):
                continue
            rows.append(
                {
                    "name": name,
                    "figure": figure,
                    "before": [b for b, _ in pairs],
                    "after": [a for _, a in pairs],
                    "difference": concurrency.mean_interval([a - b for b, a in pairs]),
                }
            )
    return rows


# Each function and its inner query alone, in GLOBAL_SEARCHES.
WRAPPED = {
    "find_similar_documents over all documents": "its inner query alone",
    "find_similar_keywords over all keywords": "its inner query alone ",
}


def _wrapper_costs(
    passes: Sequence[dict[str, dict[str, Any]]], revision: str
) -> list[dict[str, Any]]:
    """What each global search function adds to its inner query at ``revision``: the
    paired difference (function - inner query) of p50 and of CPU, over the repetitions."""
    rows = []
    for function, inner in WRAPPED.items():
        for figure in ("p50_ms", "p95_ms", "cpu_us"):
            differences = [
                p[revision]["global_searches"][function][figure]
                - p[revision]["global_searches"][inner][figure]
                for p in passes
                if p[revision]["global_searches"][function][figure] is not None
            ]
            if differences:
                rows.append(
                    {
                        "name": function,
                        "figure": figure,
                        "added": concurrency.mean_interval(differences),
                    }
                )
    return rows


def _server_cpu_differences(
    passes: Sequence[dict[str, dict[str, Any]]], before: str, after: str
) -> dict[str, Any] | None:
    """Row-level security's share of the mix's server CPU at each revision (its interval
    over the repetitions) and each request's added µs; None where it was not readable."""
    if any(p[rev]["server_cpu"] is None for p in passes for rev in (before, after)):
        return None
    overhead = {
        rev: concurrency.mean_interval([p[rev]["server_cpu"]["mix"]["overhead"] for p in passes])
        for rev in (before, after)
    }
    requests = {
        name: {
            rev: concurrency.mean_interval(
                [p[rev]["server_cpu"]["requests"][name]["added_us"]["mean"] for p in passes]
            )
            for rev in (before, after)
        }
        | {
            f"{rev} app_us": statistics.fmean(
                p[rev]["server_cpu"]["requests"][name]["app_us"] for p in passes
            )
            for rev in (before, after)
        }
        for name in concurrency.SCRIPTS
    }
    change = concurrency.mean_interval(
        [
            p[after]["server_cpu"]["mix"]["overhead"] - p[before]["server_cpu"]["mix"]["overhead"]
            for p in passes
        ]
    )
    return {"overhead": overhead, "change": change, "requests": requests}


def _rls_overhead(
    passes: Sequence[dict[str, dict[str, Any]]], revision: str
) -> list[dict[str, Any]]:
    """At ``revision``, per target and client count: the app's and the baseline's median
    TPS and row-level security's overhead on TPS over the repetitions."""
    runs = [concurrency.Run(**run) for p in passes for run in p[revision].get("concurrency", [])]
    rows = []
    for target, clients in sorted({(run.target, run.clients) for run in runs}):
        chosen = [run for run in runs if (run.target, run.clients) == (target, clients)]
        rows.append(
            {
                "target": target,
                "clients": clients,
                "tps_app": statistics.median(r.tps for r in chosen if r.role == APP_ROLE),
                "tps_baseline": statistics.median(r.tps for r in chosen if r.role == ADMIN_ROLE),
                "overhead": concurrency.rls_overhead(runs, target, clients),
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
    real_paragraphs: int | None = None,
) -> dict[str, Any]:
    """Populate once at head (the generated data set, or with ``real_paragraphs`` the real
    one of ``--real``), clone twice, downgrade each clone to its revision, measure
    alternating; the results, also written under ``options.output``."""
    data = None
    if real_paragraphs is not None:
        from sensa_db_tools.benchmark import real

        data = real.build(options.seed, real_paragraphs)
        options = replace(options, scale=data.scale)
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
                    seed=options.seed, progress=options.progress, data=data,
                )  # fmt: skip
                with psycopg.connect(
                    conninfo(options.server, source, BENCH_LOGINS[ADMIN_ROLE])
                ) as admin:
                    register_vector(admin)
                    concurrency.make_picks(owner, admin, populated.data)
                    exact = _recall_set(admin, populated.data, options.seed)
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
                    options.seed + repetition, pgbench_clients, repetition, exact,
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
        "global_searches": _global_differences(passes, before, after),
        "wrapper_costs": {rev: _wrapper_costs(passes, rev) for rev in (before, after)},
        "server_cpu": _server_cpu_differences(passes, before, after),
        "rls_overhead": {rev: _rls_overhead(passes, rev) for rev in (before, after)},
        "load_average": os.getloadavg(),
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
    lines += _render_global_searches(results) + _render_wrapper_costs(results)
    lines += _render_server_cpu(results)
    lines += _render_rls_overhead(results)
    lines += ["", f"Load average at the end (1, 5, 15 min): {results['load_average']}"]
    for revision, plans in results["plans"].items():
        for name, plan in plans.items():
            lines += ["", f"Plan at {revision}, {name} (as the app):", "", "```", plan, "```"]
    return "\n".join(lines) + "\n"


def _render_global_searches(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### The global searches (every row, as the baseline login)",
        "",
        "| search | figure | before (per repetition) | after | difference (95% CI) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["global_searches"]:
        digits = {"cpu_us": 0, "recall": 4}.get(row["figure"], 3)
        lines.append(
            f"| {row['name']} | {row['figure']} |"
            f" {' / '.join(f'{v:.{digits}f}' for v in row['before'])} |"
            f" {' / '.join(f'{v:.{digits}f}' for v in row['after'])} |"
            f" {_interval(row['difference'], 'ms')} | {verdict(row['difference'])} |"
        )
    return lines


def _render_wrapper_costs(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### What each global search function adds to its inner query (function - inner query)",
        "",
        "| revision | search | figure | added (95% CI) |",
        "|---|---|---|---|",
    ]
    for revision, rows in results["wrapper_costs"].items():
        for row in rows:
            lines.append(
                f"| {revision} | {row['name']} | {row['figure']} |"
                f" {_interval(row['added'], 'ms')} |"
            )
    return lines


def _render_server_cpu(results: dict[str, Any]) -> list[str]:
    cpu = results["server_cpu"]
    if cpu is None:
        return ["", "Server CPU per request: not readable from here (a remote server)."]
    before, after = results["before"], results["after"]
    lines = [
        "",
        "### Server CPU per request: row-level security's added µs (app - baseline)",
        "",
        f"| request | app µs, {before} | app µs, {after} | added, {before} (95% CI)"
        f" | added, {after} (95% CI) |",
        "|---|---|---|---|---|",
    ]
    for name, row in cpu["requests"].items():
        lines.append(
            f"| {name} | {row[f'{before} app_us']:.0f} | {row[f'{after} app_us']:.0f} |"
            f" {_interval(row[before], 'ms')} | {_interval(row[after], 'ms')} |"
        )
    lines.append(
        f"| the mix's overhead | | | {_interval(cpu['overhead'][before], '%')} |"
        f" {_interval(cpu['overhead'][after], '%')} |"
    )
    lines.append(f"| change of the overhead | | | | {_interval(cpu['change'], '%')} |")
    return lines


def _render_rls_overhead(results: dict[str, Any]) -> list[str]:
    if not any(results["rls_overhead"].values()):
        return []
    lines = [
        "",
        "### Row-level security's overhead on throughput (pgbench mix, app against baseline)",
        "",
        "| revision | target | clients | TPS app | TPS baseline | RLS overhead (95% CI) |",
        "|---|---|---|---|---|---|",
    ]
    for revision, rows in results["rls_overhead"].items():
        for row in rows:
            lines.append(
                f"| {revision} | {row['target']} | {row['clients']} | {row['tps_app']:,.0f} |"
                f" {row['tps_baseline']:,.0f} | {_interval(row['overhead'], '%')} |"
            )
    return lines
