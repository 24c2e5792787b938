"""What naming the learner costs in round trips, measured with pgbench.

One learner's course lookup, five ways, each for ``--seconds`` with
``--clients`` connections (extended protocol, nothing prepared, as through a
pooler):

- ``bare``: the lookup alone, in autocommit, as admin_role (1 round trip);
- ``bare in a transaction``: BEGIN, the lookup, COMMIT (3);
- ``context, a round trip each (the package)``: BEGIN, set_current_user_id,
  the lookup, COMMIT (4), what ``learner_session`` sends;
- ``context sent with BEGIN``: BEGIN and set_current_user_id in one pipeline,
  then the lookup, then COMMIT (3), what a client that sends BEGIN without
  waiting for its reply could do;
- ``context, one pipeline``: the whole transaction in one pipeline (1), for an
  API that knows its statements up front.

Run it on a database holding learners' courses, a kept benchmark database say::

    sensa-db benchmark --scale 0.1 --keep          # prints the database's name
    python -m sensa_db_tools.benchmark.round_trips sensa_bench_xxxxxxxxxx [--port 6432]

Through PgBouncer (``--port 6432``) each round trip crosses two hops.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools import local_cluster
from sensa_db_tools.benchmark.loading import BENCH_LOGINS
from sensa_db_tools.local_cluster import ensure_login_members

LOOKUP = "SELECT course_id, name, subject FROM courses WHERE course_id = :course;"
# As sensa_db.request_context sends it: the login's membership is read in the same statement.
NAME = f"SELECT set_current_user_id(:learner), pg_catalog.pg_has_role('{APP_ROLE}', 'USAGE');"


@dataclass(frozen=True)
class Variant:
    label: str
    login_role: str
    round_trips: int
    script: str


VARIANTS = (
    Variant("bare", ADMIN_ROLE, 1, LOOKUP),
    Variant("bare in a transaction", ADMIN_ROLE, 3, f"BEGIN;\n{LOOKUP}\nCOMMIT;"),
    Variant(
        "context, a round trip each (the package)",
        APP_ROLE,
        4,
        f"BEGIN;\n{NAME}\n{LOOKUP}\nCOMMIT;",
    ),
    Variant(
        "context sent with BEGIN",
        APP_ROLE,
        3,
        f"\\startpipeline\nBEGIN;\n{NAME}\n\\endpipeline\n{LOOKUP}\nCOMMIT;",
    ),
    Variant(
        "context, one pipeline",
        APP_ROLE,
        1,
        f"\\startpipeline\nBEGIN;\n{NAME}\n{LOOKUP}\nCOMMIT;\n\\endpipeline",
    ),
)


def _pgbench(
    args: argparse.Namespace, user: str, password: str, script: Path
) -> tuple[float, float]:
    """(transactions per second, average latency in ms) of ``script`` as ``user``."""
    pgbench = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    command = [pgbench, "-n", "-M", "extended", "-f", str(script), "-T", str(args.seconds)]
    command += ["-c", str(args.clients), "-j", str(min(args.clients, 2))]
    command += ["-D", f"learner={args.learner}", "-D", f"course={args.course}"]
    command += ["-h", args.host, "-p", str(args.port), "-U", user, args.dbname]
    completed = subprocess.run(  # noqa: S603 - our own arguments
        command,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PGPASSWORD": password},
    )
    tps = re.search(r"tps = ([\d.]+)", completed.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", completed.stdout)
    if tps is None or latency is None:
        raise RuntimeError(f"pgbench printed no tps or latency:\n{completed.stdout}")
    return float(tps.group(1)), float(latency.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("dbname")
    owner = local_cluster.server_from_environment()
    parser.add_argument("--host", default=owner.host)
    parser.add_argument(
        "--port", type=int, default=owner.port, help=f"{local_cluster.PGBOUNCER_PORT} for PgBouncer"
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="each variant this many times")
    args = parser.parse_args(argv)
    password = owner.password or ""
    # Logins and the lookup's ids straight from the cluster, whatever --port measures.
    with psycopg.connect(local_cluster.conninfo(owner, args.dbname)) as owner_connection:
        ensure_login_members(owner_connection, BENCH_LOGINS, password)
    admin = local_cluster.conninfo(owner, args.dbname, BENCH_LOGINS[ADMIN_ROLE])
    with psycopg.connect(admin) as admin_connection:
        row = admin_connection.execute("SELECT user_id, course_id FROM courses LIMIT 1").fetchone()
    if row is None:
        parser.error(f"{args.dbname} holds no course to look up")
    args.learner, args.course = row
    print(f"{'variant':<42} {'round trips':>11} {'tps':>9} {'latency ms':>10}")
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.rounds):
            for variant in VARIANTS:
                script = Path(scratch) / "script.sql"
                script.write_text(variant.script + "\n")
                user = BENCH_LOGINS[variant.login_role]
                tps, latency = _pgbench(args, user, password, script)
                print(f"{variant.label:<42} {variant.round_trips:>11} {tps:>9.0f} {latency:>10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
