"""``--concurrency``: the API's query mix under many clients, with pgbench.

Six pgbench scripts, one per API request, each a transaction that names its
learner first (``set_current_user_id``) as the API does, drawn by weight:

==================  ======  ==================================================
request             weight  statement
==================  ======  ==================================================
course lookup       30      the learner's active courses, newest first
progress summary    20      get_user_progress_summary(learner, course)
keyword search      15      search_keywords(a word with a typo, course)
progress heartbeat  15      UPDATE user_progress: 30 more seconds on a chapter
learner similarity  10      find_similar_documents(q, 10, -1) as the learner
course statistics   10      get_course_stats(course)
==================  ======  ==================================================

Each transaction picks one of ``PICKS`` prepared learners (``bench_picks``, a
table of the benchmark's own database: a learner, a course of theirs, a chapter
they have progress on, a query embedding and a misspelt word). The same mix runs
as a ``sensa_app`` login (row-level security) and as an ``admin_role`` login
(policies ``USING (true)``), alternating, for every client count and target
(a URL: the server directly, PgBouncer in transaction mode, a replica), the
targets alternating too. The read-only mix (``--read-only``) leaves out the
heartbeat, the one write, so that it runs on a hot standby. pgbench
runs with ``-M extended`` (parameters bound, no named prepared statements, which
transaction pooling cannot keep) and logs every transaction, from which p50,
p95 and p99 come. Its own CPU time (user + system, from the kernel's account of
the child process) over the wall time shows whether the client was the limit.
The log also names each transaction's script, so the RLS overhead is split by
request: at the fewest clients, where a latency is the server's work and not a
queue, each request's mean as the app against the baseline.
"""

from __future__ import annotations

import csv
import math
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools.benchmark.dataset import Dataset, typo

PICKS = 1_000
CLIENT_COUNTS = (1, 4, 16, 64)
REPETITIONS = 3
SECONDS = 10
# Two-sided 95% Student t quantiles by degrees of freedom, for the RLS overhead's interval;
# beyond 9 degrees of freedom (many paired requests), those of 10, 20, 30, 60 and 120.
T_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
T_95_BEYOND = ((120, 1.980), (60, 2.000), (30, 2.042), (20, 2.086), (10, 2.228))

_PICK = (
    "\\set n random(1, {picks})\n"
    "BEGIN;\n"
    "SELECT user_id AS uid, course_id AS cid FROM public.bench_picks WHERE n = :n \\gset\n"
    "{name_the_learner}\n"
)
# The app names its learner as the API does. admin_role may not call
# set_current_user_id(); it writes the two settings that function writes
# (sensa_db/functions/request_context.sql), so that current_learner_id() names the
# same learner and both sides do the same work but for row-level security: a
# learner's find_similar_documents() is then the exact scan of their documents on
# both, not a search of every document on the baseline's.
NAME_THE_LEARNER = {
    APP_ROLE: "SELECT public.set_current_user_id(:uid);",
    ADMIN_ROLE: "SELECT set_config('app.current_user_id', :uid, true),"
    " set_config('app.current_user_txn',"
    " CAST(EXTRACT(epoch FROM transaction_timestamp()) AS text), true);",
}
SCRIPTS = {
    "course_lookup": (
        30,
        "SELECT course_id, name, subject, created_at FROM public.courses"
        " WHERE user_id = :uid AND NOT is_archived ORDER BY created_at DESC;",
    ),
    "progress_summary": (20, "SELECT * FROM public.get_user_progress_summary(:uid, :cid);"),
    "keyword_search": (
        15,
        "SELECT * FROM public.search_keywords("
        "(SELECT term FROM public.bench_picks WHERE n = :n), :cid);",
    ),
    "progress_heartbeat": (
        15,
        "UPDATE public.user_progress SET time_spent_seconds = time_spent_seconds + 30"
        " WHERE user_id = :uid"
        " AND chapter_id = (SELECT chapter_id FROM public.bench_picks WHERE n = :n);",
    ),
    "learner_similarity": (
        10,
        "SELECT * FROM public.find_similar_documents("
        "(SELECT query FROM public.bench_picks WHERE n = :n), 10, -1);",
    ),
    "course_stats": (10, "SELECT * FROM public.get_course_stats(:cid);"),
}
# The requests that write: a hot standby refuses them (SQLSTATE 25006).
WRITES = frozenset({"progress_heartbeat"})


def mix(*, read_only: bool) -> dict[str, tuple[int, str]]:
    """The requests pgbench draws from: all of them, or only those that read."""
    return {name: script for name, script in SCRIPTS.items() if not (read_only and name in WRITES)}


@dataclass(frozen=True)
class Target:
    """Where the mix is sent: a name and a server URL (without the database)."""

    name: str
    host: str
    port: int


def make_picks(
    owner: psycopg.Connection[Any], admin: psycopg.Connection[Any], data: Dataset
) -> None:
    """Create and fill ``bench_picks``: learners with progress, and what they ask."""
    rows = admin.execute(
        "SELECT DISTINCT ON (user_id) user_id, course_id, chapter_id FROM public.user_progress"
        " ORDER BY user_id, chapter_id"
    ).fetchall()
    admin.commit()
    rng = np.random.default_rng(PICKS)
    course_index = {course_id: index for index, course_id in enumerate(data.course_ids)}
    owner.execute(
        "CREATE TABLE public.bench_picks (n integer PRIMARY KEY, user_id uuid, course_id uuid,"
        " chapter_id uuid, query vector(768), term text)"
    )
    with owner.cursor() as cursor:
        for n in range(1, PICKS + 1):
            user_id, course_id, chapter_id = rows[int(rng.integers(0, len(rows)))]
            course = course_index[course_id]
            keywords = data.course_keywords(course)
            term = data.keyword_terms[int(keywords[int(rng.integers(0, len(keywords)))])]
            word = max(term.split(), key=len).lower()
            cursor.execute(
                "INSERT INTO public.bench_picks VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    n,
                    user_id,
                    course_id,
                    chapter_id,
                    data.document_like(np.array([course]))[0],
                    typo(word, rng) if len(word) > 2 else word,
                ),
            )
    for role in (APP_ROLE, ADMIN_ROLE):
        owner.execute(
            sql.SQL("GRANT SELECT ON public.bench_picks TO {}").format(sql.Identifier(role))
        )
    owner.commit()


@dataclass
class Run:
    target: str
    role: str
    clients: int
    repetition: int
    tps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    transactions: int
    failed: int
    client_cpu_share: float
    # time.monotonic() around the pgbench process: what else was sampled meanwhile
    # (the replica's lag) is attributed to this run.
    started: float = 0.0
    finished: float = 0.0
    # Each request's mean latency (ms): where the two logins' throughput differs.
    request_mean_ms: dict[str, float] = field(default_factory=dict)


def _write_scripts(directory: Path, role: str, *, read_only: bool) -> list[str]:
    arguments = []
    for name, (weight, statement) in mix(read_only=read_only).items():
        path = directory / f"{role}_{name}.sql"
        pick = _PICK.format(picks=PICKS, name_the_learner=NAME_THE_LEARNER[role])
        path.write_text(pick + statement + "\nCOMMIT;\n")
        arguments += ["-f", f"{path}@{weight}"]
    return arguments


def _transactions(log_prefix: Path) -> list[tuple[int, float]]:
    """(script number, latency in ms) of every transaction in pgbench's logs: columns 4
    and 3 (microseconds); scripts are numbered from 0 in the order they were given."""
    transactions = []
    for path in log_prefix.parent.glob(f"{log_prefix.name}*"):
        with path.open() as log:
            for row in csv.reader(log, delimiter=" "):
                transactions.append((int(row[3]), int(row[2]) / 1000))
        path.unlink()
    return transactions


@dataclass(frozen=True)
class PgbenchRun:
    tps: float
    transactions: list[tuple[int, float]]
    failed: int
    client_cpu_share: float
    errors: str

    @property
    def latencies_ms(self) -> list[float]:
        return [latency for _, latency in self.transactions]

    def request_mean_ms(self, requests: Sequence[str]) -> dict[str, float]:
        """The mean latency of each of ``requests`` (the scripts, in the order given)."""
        by_script: dict[int, list[float]] = {}
        for script, latency in self.transactions:
            by_script.setdefault(script, []).append(latency)
        return {
            requests[script]: statistics.fmean(latencies)
            for script, latencies in sorted(by_script.items())
        }


def run_pgbench(
    target: Target,
    dbname: str,
    login: str,
    password: str,
    clients: int,
    *,
    seconds: int,
    scripts: Sequence[str],
    workdir: Path,
) -> PgbenchRun:
    """One pgbench run, with every transaction's latency and the client's CPU share."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench is not on PATH: install postgresql-client")
    log_prefix = workdir / f"log_{target.name}_{login}_{clients}"
    command = [
        pgbench, "-n", "-M", "extended", "-c", str(clients), "-j", str(min(clients, 2)),
        "-T", str(seconds), "-l", "--log-prefix", str(log_prefix),
        "-h", target.host, "-p", str(target.port), "-U", login, *scripts, dbname,
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(  # noqa: S603  # our own arguments
        command,
        env={**os.environ, "PGPASSWORD": password},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode not in (0, 2):
        raise RuntimeError(f"pgbench failed ({finished.returncode}): {finished.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    transactions = _transactions(log_prefix)
    failed = sum(
        int(line.split(":")[1].split()[0])
        for line in finished.stdout.splitlines()
        if line.startswith("number of failed transactions")
    )
    tps_lines = [line for line in finished.stdout.splitlines() if line.startswith("tps")]
    tps = float(tps_lines[-1].split()[2]) if tps_lines else len(transactions) / seconds
    return PgbenchRun(
        tps, transactions, failed, cpu / wall / (os.cpu_count() or 1), finished.stderr[-2000:]
    )


def measure(
    targets: Sequence[Target],
    dbname: str,
    logins: dict[str, str],
    password: str,
    *,
    clients: Sequence[int] = CLIENT_COUNTS,
    repetitions: int = REPETITIONS,
    seconds: int = SECONDS,
    read_only: bool = False,
) -> list[Run]:
    """Every client count x repetition x target x role; the targets and the app and the
    baseline alternate their order from one repetition to the next, so that drift in
    the machine falls on each side alike."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="sensa_bench_pgbench_") as directory:
        workdir = Path(directory)
        scripts = {
            role: _write_scripts(workdir, role, read_only=read_only) for role in NAME_THE_LEARNER
        }
        requests = list(mix(read_only=read_only))
        for count in clients:
            for repetition in range(repetitions):
                order = list(targets) if repetition % 2 == 0 else list(reversed(targets))
                roles = [APP_ROLE, ADMIN_ROLE] if repetition % 2 == 0 else [ADMIN_ROLE, APP_ROLE]
                for target in order:
                    for role in roles:
                        started = time.monotonic()
                        bench = run_pgbench(
                            target, dbname, logins[role], password, count,
                            seconds=seconds, scripts=scripts[role], workdir=workdir,
                        )  # fmt: skip
                        if not bench.latencies_ms:
                            raise RuntimeError(
                                f"pgbench on {target.name} ran no transaction: {bench.errors}"
                            )
                        p50, p95, p99 = np.percentile(bench.latencies_ms, [50, 95, 99]).tolist()
                        runs.append(
                            Run(target.name, role, count, repetition, bench.tps, p50, p95, p99,
                                len(bench.latencies_ms), bench.failed, bench.client_cpu_share,
                                started, time.monotonic(), bench.request_mean_ms(requests))
                        )  # fmt: skip
    return runs


def mean_interval(values: Sequence[float]) -> dict[str, float]:
    """The mean of paired differences with its 95% confidence interval (Student t)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "low": math.nan, "high": math.nan, "n": len(values)}
    freedom = len(values) - 1
    t = T_95.get(freedom) or next(q for df, q in T_95_BEYOND if freedom >= df)
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(values)}


def paired_runs(runs: Sequence[Run], target: str, clients: int) -> list[dict[str, Run]]:
    """The app's and the baseline's run of each repetition at ``target`` and ``clients``,
    for the repetitions that have both."""
    by_repetition: dict[int, dict[str, Run]] = {}
    for run in runs:
        if run.target == target and run.clients == clients:
            by_repetition.setdefault(run.repetition, {})[run.role] = run
    return [pair for pair in by_repetition.values() if len(pair) == len(NAME_THE_LEARNER)]


def rls_overhead(runs: Sequence[Run], target: str, clients: int) -> dict[str, float]:
    """Throughput lost to row-level security: the mean of the paired repetitions'
    1 - app/baseline TPS, with a 95% confidence interval (Student t)."""
    return mean_interval(
        [
            1 - pair[APP_ROLE].tps / pair[ADMIN_ROLE].tps
            for pair in paired_runs(runs, target, clients)
        ]
    )


def rls_cost_per_request(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Where row-level security's cost lies: per target and request, at the fewest clients
    (no queue, so a latency is the server's work), the app's and the baseline's mean
    latency (medians over the repetitions) and the paired difference with its 95%
    interval; ``share`` is the request's part of the mix's added time (weight x difference)."""
    if not runs:
        return []
    fewest = min(run.clients for run in runs)
    rows = []
    for target in sorted({run.target for run in runs}):
        complete = paired_runs(runs, target, fewest)
        measured = [set(run.request_mean_ms) for pair in complete for run in pair.values()]
        requests = [name for name in SCRIPTS if measured and all(name in m for m in measured)]
        costs = []
        for name in requests:
            app = [pair[APP_ROLE].request_mean_ms[name] for pair in complete]
            baseline = [pair[ADMIN_ROLE].request_mean_ms[name] for pair in complete]
            added = mean_interval([a - b for a, b in zip(app, baseline, strict=True)])
            costs.append((name, statistics.median(app), statistics.median(baseline), added))
        total = sum(SCRIPTS[name][0] * added["mean"] for name, _, _, added in costs)
        for name, app_ms, baseline_ms, added in costs:
            rows.append(
                {
                    "target": target,
                    "clients": fewest,
                    "request": name,
                    "weight": SCRIPTS[name][0],
                    "app_ms": app_ms,
                    "baseline_ms": baseline_ms,
                    "added_ms": added,
                    "share": SCRIPTS[name][0] * added["mean"] / total if total else math.nan,
                }
            )
    return rows


def summarise(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per target, client count and role: medians over the repetitions."""
    rows = []
    keys = sorted({(run.target, run.clients) for run in runs}, key=lambda key: (key[0], key[1]))
    for target, clients in keys:
        overhead = rls_overhead(runs, target, clients)
        for role in (APP_ROLE, ADMIN_ROLE):
            chosen = [r for r in runs if (r.target, r.clients, r.role) == (target, clients, role)]
            rows.append(
                {
                    "target": target,
                    "clients": clients,
                    "role": role,
                    "tps": statistics.median(r.tps for r in chosen),
                    "p50_ms": statistics.median(r.p50_ms for r in chosen),
                    "p95_ms": statistics.median(r.p95_ms for r in chosen),
                    "p99_ms": statistics.median(r.p99_ms for r in chosen),
                    "failed": sum(r.failed for r in chosen),
                    "client_cpu_share": max(r.client_cpu_share for r in chosen),
                    "rls_overhead": overhead,
                }
            )
    return rows


def render_markdown(
    rows: Sequence[dict[str, Any]], seconds: int, repetitions: int, *, read_only: bool = False
) -> str:
    title = "read-only API mix, no heartbeat" if read_only else "API mix"
    lines = [
        f"## Throughput under concurrency (pgbench, {title})",
        "",
        f"{repetitions} alternating repetitions of {seconds} s per role, target and client"
        " count; medians shown. RLS overhead: 1 - TPS(app) / TPS(baseline), mean of the"
        " paired repetitions with its 95% confidence interval. Client CPU: pgbench's CPU"
        " time over wall time and cores (the largest of the repetitions).",
        "",
        "| target | clients | login | TPS | p50 | p95 | p99 | client CPU | RLS overhead (95% CI) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        overhead = row["rls_overhead"]
        interval = (
            f"{overhead['mean']:+.1%} ({overhead['low']:+.1%} to {overhead['high']:+.1%})"
            if row["role"] == APP_ROLE
            else ""
        )
        lines.append(
            f"| {row['target']} | {row['clients']} | {row['role']} | {row['tps']:,.0f} |"
            f" {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | {row['p99_ms']:.2f} |"
            f" {row['client_cpu_share']:.0%} | {interval} |"
        )
    return "\n".join(lines) + "\n"


def render_request_costs(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "## Where row-level security's cost lies (per request, fewest clients)",
        "",
        "Mean latency per request (medians over the repetitions) as the app and as the"
        " baseline; added: the paired difference with its 95% interval; share: the"
        " request's part of the mix's added time (its weight times the difference).",
        "",
        "| target | clients | request | weight | app ms | baseline ms | added ms (95% CI)"
        " | share |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        added = row["added_ms"]
        lines.append(
            f"| {row['target']} | {row['clients']} | {row['request']} | {row['weight']} |"
            f" {row['app_ms']:.3f} | {row['baseline_ms']:.3f} |"
            f" {added['mean']:+.3f} ({added['low']:+.3f} to {added['high']:+.3f}) |"
            f" {row['share']:.0%} |"
        )
    return "\n".join(lines) + "\n"
