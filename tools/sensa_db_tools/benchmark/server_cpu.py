"""The server's CPU time per request: a cost that a shared machine's load hardly moves.

Wall-clock latency and throughput move with everything else the machine runs;
the CPU time the server's backend spends on a request moves far less. The
kernel counts it per process in nanoseconds (the first field of
``/proc/<pid>/schedstat``), so a client on the server's machine, allowed to
read the backend's entry (the same OS user, or root), reads it around each
request. Nothing here runs against a remote server: ``backend_cpu`` then says
so with None.

``request_costs`` runs each request of the pgbench mix (``concurrency.SCRIPTS``)
as pgbench sends it, one transaction that names its learner first, unprepared
(extended protocol), on an app connection and a baseline connection, the two
alternating in random order, and compares their CPU time per request, paired
by request: row-level security's cost in server time. Weighted by the mix, it
is what throughput would lose on a server whose CPU is the limit.

Run it on a kept benchmark database (one with ``bench_picks``)::

    python -m sensa_db_tools.benchmark.server_cpu sensa_bench_xxxxxxxxxx
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import psycopg

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools import local_cluster
from sensa_db_tools.benchmark import concurrency
from sensa_db_tools.benchmark.loading import BENCH_LOGINS

T = TypeVar("T")
TRANSACTIONS = 200
WARMUP = 20
_PGBENCH_VARIABLE = re.compile(r":(uid|cid|n)\b")


def backend_cpu(connection: psycopg.Connection[Any]) -> Callable[[], int] | None:
    """A reader of ``connection``'s backend CPU time in ns, or None when the server's
    processes cannot be read from here (another machine, another OS user)."""
    row = connection.execute("SELECT pg_backend_pid()").fetchone()
    connection.commit()
    path = Path(f"/proc/{row[0] if row else 0}/schedstat")
    host = connection.info.host
    if not (host in {"localhost", "127.0.0.1", "::1"} or host.startswith("/")):
        return None
    try:
        path.read_text()
    except OSError:
        return None
    return lambda: int(path.read_text().split()[0])


def timed_cpu(cpu: Callable[[], int], operation: Callable[[], T]) -> tuple[T, float]:
    """``operation``'s result and the backend CPU time it took, in microseconds."""
    before = cpu()
    result = operation()
    return result, (cpu() - before) / 1000


def _statement(script: str) -> str:
    """A pgbench statement (``:uid``) as a psycopg one (``%(uid)s``), without its ';'."""
    return _PGBENCH_VARIABLE.sub(r"%(\1)s", script).rstrip(";")


def _transaction(
    connection: psycopg.Connection[Any], role: str, statement: str, pick: dict[str, Any]
) -> None:
    """One request as pgbench sends it: name the learner, run the request, commit."""
    connection.execute(_statement(concurrency.NAME_THE_LEARNER[role]), pick, prepare=False)
    cursor = connection.execute(statement, pick, prepare=False)
    if cursor.description is not None:
        cursor.fetchall()
    connection.commit()


def request_costs(
    server: Any, dbname: str, *, transactions: int = TRANSACTIONS, seed: int = 7
) -> dict[str, Any] | None:
    """Per request of the mix: the app's and the baseline's mean backend CPU time (µs) and
    their paired difference with its 95% interval; and the mix's weighted means and
    overhead. None when the server's processes cannot be read from here."""
    with (
        psycopg.connect(local_cluster.conninfo(server, dbname, BENCH_LOGINS[APP_ROLE])) as app,
        psycopg.connect(local_cluster.conninfo(server, dbname, BENCH_LOGINS[ADMIN_ROLE])) as admin,
    ):
        connections = {APP_ROLE: app, ADMIN_ROLE: admin}
        readers = {role: backend_cpu(connection) for role, connection in connections.items()}
        picks = admin.execute("SELECT n, user_id, course_id FROM public.bench_picks").fetchall()
        admin.commit()
        app_cpu, admin_cpu = readers[APP_ROLE], readers[ADMIN_ROLE]
        if app_cpu is None or admin_cpu is None:
            return None
        cpu = {APP_ROLE: app_cpu, ADMIN_ROLE: admin_cpu}
        rng = np.random.default_rng(seed)
        costs: dict[str, dict[str, list[float]]] = {}
        for name, (_, script) in concurrency.SCRIPTS.items():
            statement = _statement(script)
            spent: dict[str, list[float]] = {APP_ROLE: [], ADMIN_ROLE: []}
            for repetition in range(WARMUP + transactions):
                n, user_id, course_id = picks[int(rng.integers(len(picks)))]
                pick = {"n": n, "uid": str(user_id), "cid": course_id}
                roles = [APP_ROLE, ADMIN_ROLE] if rng.integers(2) else [ADMIN_ROLE, APP_ROLE]
                for role in roles:
                    run = partial(_transaction, connections[role], role, statement, pick)
                    _, microseconds = timed_cpu(cpu[role], run)
                    if repetition >= WARMUP:
                        spent[role].append(microseconds)
            costs[name] = spent
    return summarise(costs)


def summarise(costs: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    requests: dict[str, dict[str, Any]] = {
        name: {
            "app_us": statistics.fmean(spent[APP_ROLE]),
            "baseline_us": statistics.fmean(spent[ADMIN_ROLE]),
            "added_us": concurrency.mean_interval(
                [a - b for a, b in zip(spent[APP_ROLE], spent[ADMIN_ROLE], strict=True)]
            ),
        }
        for name, spent in costs.items()
    }
    weights = {name: concurrency.SCRIPTS[name][0] for name in requests}
    total = sum(weights.values())
    app = sum(weights[name] * row["app_us"] for name, row in requests.items()) / total
    baseline = sum(weights[name] * row["baseline_us"] for name, row in requests.items()) / total
    return {
        "requests": requests,
        "mix": {"app_us": app, "baseline_us": baseline, "overhead": app / baseline - 1},
    }


def render_markdown(result: dict[str, Any], title: str = "") -> str:
    lines = [
        f"## Server CPU per request{title} (backend CPU time, app against baseline)",
        "",
        "Mean µs of the backend's CPU time per transaction (naming the learner, the request,"
        " the commit); added: the paired difference with its 95% interval.",
        "",
        "| request | weight | app µs | baseline µs | added µs (95% CI) | added % |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result["requests"].items():
        added = row["added_us"]
        lines.append(
            f"| {name} | {concurrency.SCRIPTS[name][0]} | {row['app_us']:.0f} |"
            f" {row['baseline_us']:.0f} | {added['mean']:+.0f} ({added['low']:+.0f} to"
            f" {added['high']:+.0f}) | {added['mean'] / row['baseline_us']:+.1%} |"
        )
    mix = result["mix"]
    lines.append(
        f"| the mix, weighted | | {mix['app_us']:.0f} | {mix['baseline_us']:.0f} | |"
        f" {mix['overhead']:+.1%} |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("dbname", help="a kept benchmark database (with bench_picks)")
    parser.add_argument("--transactions", type=int, default=TRANSACTIONS)
    args = parser.parse_args(argv)
    server = local_cluster.server_from_environment()
    result = request_costs(server, args.dbname, transactions=args.transactions)
    if result is None:
        parser.error("the server's backends cannot be read from here (/proc/<pid>/schedstat)")
    print(f"load average {os.getloadavg()}")
    print(render_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
