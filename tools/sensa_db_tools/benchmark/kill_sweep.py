"""The kill sweep: ``alembic upgrade head`` killed at a statement boundary, then run again.

For each kill point N and each way of dying, a fresh database from the
extensions template is upgraded by a runner process (``python -m
sensa_db_tools.benchmark.kill_sweep run``) that goes through the real env.py (the
migration lock, lock retries, one transaction per revision) and dies just
before its N-th SQL statement: by SIGKILL of itself, or by
``pg_terminate_backend`` of the connection about to run the statement. No
production code knows about it: the runner counts statements with a
SQLAlchemy ``before_cursor_execute`` listener on the engine it hands env.py.

After each kill the sweep checks what was left (no session of the dead runner,
no lock held in the database, the INVALID indexes counted, migrations_log
consistent with alembic_version per ``sensa-db verify``), runs ``alembic
upgrade head`` again as a deploy would, and checks the result: success, no
INVALID index, migrations_log consistent, and the same normalised ``pg_dump
--schema-only`` as a clean run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import URL

from sensa_db.migration_history import verify
from sensa_db.migration_safety import APPLICATION_NAME
from sensa_db_tools.benchmark.loading import benchmark_database
from sensa_db_tools.local_cluster import EXTENSIONS_TEMPLATE, conninfo

WAYS = ("sigkill", "terminate")
STATEMENTS_LINE = "statements executed:"
# A killed runner's backend ends at its next client check (1 s) or write.
LEFTOVER_SECONDS = 30.0


def _run(url: str, alembic_ini: Path, kill_at: int, way: str) -> int:
    """Upgrade ``url`` to head through env.py; die before statement ``kill_at`` (0: never)."""
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        poolclass=pool.NullPool,
        connect_args={"application_name": APPLICATION_NAME},
    )
    executed = 0

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal executed
        executed += 1
        print(f"{executed}\t{' '.join(statement.split())[:120]}", flush=True)
        if executed != kill_at:
            return
        if way == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        with psycopg.connect(url, autocommit=True) as killer:
            killer.execute(
                "SELECT pg_terminate_backend(%s, 5000)", (cursor.connection.info.backend_pid,)
            )

    config = Config(str(alembic_ini))
    config.attributes["configure_logger"] = False
    config.attributes["connection"] = engine
    try:
        command.upgrade(config, "head")
    finally:
        engine.dispose()
    print(f"{STATEMENTS_LINE} {executed}", flush=True)
    return 0


def _runner(
    url: str, alembic_ini: Path, kill_at: int, way: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  # our own interpreter and module
        [
            sys.executable, "-m", "sensa_db_tools.benchmark.kill_sweep", "run",
            "--url", url, "--config", str(alembic_ini), "--kill-at", str(kill_at), "--way", way,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )  # fmt: skip


def normalised_schema(server: URL, dbname: str) -> str:
    """``pg_dump --schema-only`` without what differs between two equal catalogs."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise RuntimeError("pg_dump is not on PATH: install postgresql-client")
    dump = subprocess.run(  # noqa: S603
        [pg_dump, "--schema-only", "--no-owner", "--no-privileges", conninfo(server, dbname)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Comments, SET lines and psql's per-dump \restrict keys vary; the objects do not.
    kept = [
        line
        for line in dump.splitlines()
        if line.strip() and not re.match(r"(--|SET |SELECT pg_catalog\.set_config|\\)", line)
    ]
    return "\n".join(kept)


@dataclass
class KillOutcome:
    kill_at: int
    way: str
    statement: str
    died: bool
    leftover_sessions: int = 0
    locks_held: int = 0
    invalid_after_kill: int = 0
    consistent_after_kill: bool = True
    rerun_ok: bool = False
    invalid_after_rerun: int = 0
    consistent_after_rerun: bool = False
    same_schema: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.died
            and self.leftover_sessions == 0
            and self.locks_held == 0
            and self.consistent_after_kill
            and self.rerun_ok
            and self.invalid_after_rerun == 0
            and self.consistent_after_rerun
            and self.same_schema
        )


def _wait_for_no_runner(owner: psycopg.Connection[Any]) -> int:
    deadline = time.monotonic() + LEFTOVER_SECONDS
    while True:
        row = owner.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s",
            (APPLICATION_NAME,),
        ).fetchone()
        left = int(row[0]) if row else 0
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _count(owner: psycopg.Connection[Any], query: str) -> int:
    row = owner.execute(query).fetchone()
    return int(row[0]) if row else 0


_LOCKS_HELD = """
    SELECT count(*) FROM pg_catalog.pg_locks AS l
    WHERE l.pid <> pg_backend_pid() AND l.database = (
        SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
"""
_INVALID_INDEXES = "SELECT count(*) FROM pg_catalog.pg_index WHERE NOT indisvalid"


def _consistent(owner_url: str, script: ScriptDirectory) -> tuple[bool, list[str]]:
    engine = create_engine(
        owner_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=pool.NullPool
    )
    try:
        with engine.connect() as connection:
            report = verify(script, connection)
    finally:
        engine.dispose()
    # Killed before revision a6f7b47487af the log still has the design's shape,
    # which names files, not revisions: verify can only say so.
    problems = [str(p) for p in report.problems if p.revision != "(migrations_log)"]
    return not problems, problems


def kill_once(
    server: URL,
    alembic_ini: Path,
    reference: str,
    kill_at: int,
    way: str,
    statement: str,
    *,
    template: str = EXTENSIONS_TEMPLATE,
) -> KillOutcome:
    """One kill point: a fresh database, the killed upgrade, the checks, the re-run."""
    script = ScriptDirectory.from_config(Config(str(alembic_ini)))
    with benchmark_database(server, template, keep=False) as dbname:
        url = conninfo(server, dbname)
        killed = _runner(url, alembic_ini, kill_at, way)
        outcome = KillOutcome(kill_at, way, statement, died=killed.returncode != 0)
        if not outcome.died:
            outcome.problems.append("the runner was not killed: the kill point was never reached")
        with psycopg.connect(url, autocommit=True) as owner:
            outcome.leftover_sessions = _wait_for_no_runner(owner)
            outcome.locks_held = _count(owner, _LOCKS_HELD)
            outcome.invalid_after_kill = _count(owner, _INVALID_INDEXES)
        outcome.consistent_after_kill, problems = _consistent(url, script)
        outcome.problems += [f"after the kill: {p}" for p in problems]
        rerun = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "alembic", "-c", str(alembic_ini), "-x", f"url={url}",
             "upgrade", "head"],
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        outcome.rerun_ok = rerun.returncode == 0
        if not outcome.rerun_ok:
            outcome.problems.append(f"the re-run failed: {rerun.stderr.strip()[-500:]}")
        with psycopg.connect(url, autocommit=True) as owner:
            outcome.invalid_after_rerun = _count(owner, _INVALID_INDEXES)
        outcome.consistent_after_rerun, problems = _consistent(url, script)
        outcome.problems += [f"after the re-run: {p}" for p in problems]
        outcome.same_schema = normalised_schema(server, dbname) == reference
        if not outcome.same_schema:
            outcome.problems.append("the re-run's schema differs from a clean run's")
    return outcome


def clean_run(
    server: URL, alembic_ini: Path, *, template: str = EXTENSIONS_TEMPLATE
) -> tuple[str, list[str]]:
    """A clean upgrade through the runner: its normalised schema and its statements in order."""
    with benchmark_database(server, template, keep=False) as dbname:
        run = _runner(conninfo(server, dbname), alembic_ini, 0, "sigkill")
        if run.returncode != 0:
            raise RuntimeError(f"the clean upgrade failed: {run.stderr.strip()[-2000:]}")
        statements = [line.split("\t", 1)[1] for line in run.stdout.splitlines() if "\t" in line]
        return normalised_schema(server, dbname), statements


# The steps of autocommit blocks a re-run must repair, sampled first by CI.
AUTOCOMMIT_STEPS = (r"\$backfill\$", r"VALIDATE CONSTRAINT", r"CREATE INDEX CONCURRENTLY")


def sample_points(statements: Sequence[str], every: int) -> list[int]:
    """Kill points: every ``every``-th statement, plus the first of each kind of
    autocommit step (backfill, validation, concurrent build)."""
    firsts = [
        next(n for n, statement in enumerate(statements, start=1) if re.search(kind, statement))
        for kind in AUTOCOMMIT_STEPS
    ]
    return sorted(set(range(1, len(statements) + 1, max(1, every))) | set(firsts))


def sweep(
    server: URL,
    alembic_ini: Path,
    *,
    points: Sequence[int] | None = None,
    ways: Sequence[str] = WAYS,
    template: str = EXTENSIONS_TEMPLATE,
    progress: bool = True,
) -> list[KillOutcome]:
    """Kill at ``points`` (default: every statement of a clean upgrade), each of ``ways``."""
    reference, statements = clean_run(server, alembic_ini, template=template)
    chosen = points if points is not None else range(1, len(statements) + 1)
    outcomes = []
    for kill_at in chosen:
        for way in ways:
            outcome = kill_once(
                server, alembic_ini, reference, kill_at, way, statements[kill_at - 1],
                template=template,
            )  # fmt: skip
            outcomes.append(outcome)
            if progress:
                print(
                    f"{kill_at}/{len(statements)} {way}: {'ok' if outcome.ok else 'FAIL'}"
                    f" {outcome.statement[:60]!r} {'; '.join(outcome.problems)}",
                    file=sys.stderr,
                    flush=True,
                )
    return outcomes


def render_markdown(outcomes: Sequence[KillOutcome]) -> str:
    failed = [outcome for outcome in outcomes if not outcome.ok]
    invalid = sum(outcome.invalid_after_kill for outcome in outcomes)
    lines = [
        f"{len(outcomes)} kills ({', '.join(sorted({o.way for o in outcomes}))}), {len(failed)}"
        f" failed; INVALID indexes right after a kill: {invalid}"
        f" (none after the re-runs: {all(o.invalid_after_rerun == 0 for o in outcomes)});"
        f" sessions left: {sum(o.leftover_sessions for o in outcomes)}; locks held after a kill:"
        f" {sum(o.locks_held for o in outcomes)}; re-runs with the clean run's schema:"
        f" {sum(o.same_schema for o in outcomes)}.",
    ]
    lines += [f"- FAIL at {o.kill_at} ({o.way}): {'; '.join(o.problems)}" for o in failed]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sensa_db_tools.benchmark.kill_sweep")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the runner the sweep kills (internal)")
    run.add_argument("--url", required=True)
    run.add_argument("--config", required=True, type=Path)
    run.add_argument("--kill-at", type=int, default=0)
    run.add_argument("--way", choices=WAYS, default="sigkill")
    args = parser.parse_args(argv)
    return _run(args.url, args.config, args.kill_at, args.way)


if __name__ == "__main__":
    sys.exit(main())
