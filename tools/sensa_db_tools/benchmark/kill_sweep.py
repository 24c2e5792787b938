"""The kill sweep: ``alembic upgrade`` killed at a statement boundary, then run again.

A clean run first builds one database per revision boundary: the empty
database cloned from the extensions template, then, for each revision R in
order, a clone of the database at R's parent upgraded to R. Each of these
clean runs records its statements and the normalised ``pg_dump
--schema-only`` of the database it leaves.

For each statement N of revision R's run and each way of dying, a clone of the
database at R's parent (``CREATE DATABASE ... TEMPLATE``, about a second) is
upgraded to R by a runner process that goes through the real env.py (the
migration lock, lock retries, one transaction per revision) and dies just
before its N-th SQL statement: by SIGKILL of itself, or by
``pg_terminate_backend`` of the connection about to run the statement. No
production code knows about it: the runner counts statements with a
SQLAlchemy ``before_cursor_execute`` listener on the engine it hands env.py.

After each kill the sweep checks what was left (no session of the dead runner,
no lock held in the database, the INVALID indexes counted, migrations_log
consistent with alembic_version per ``sensa-db verify``), runs ``alembic
upgrade R`` again through the command-line path of env.py, as a deploy would,
and checks the result: success, no INVALID index, migrations_log consistent,
and the same normalised schema as the clean run left at R.

Why R and not head: env.py applies one revision per transaction, and what it
executes up to R's commit does not depend on the target. A kill inside R's run
can only leave residue of R, since the revisions before it are committed (the
clean database at R's parent) and those after it never began. Comparing at R
is the same test as at head, and a stricter one: no later revision can mask
what R's re-run left. The clean runs themselves chain from empty to head, so
every revision's kills together cover every statement of an ``alembic upgrade
head`` from empty, plus each run's start and end at every revision boundary.

Runners and re-runs are processes forked from the sweep, which has already
imported alembic, SQLAlchemy and psycopg and holds no connection while it
forks: each is a separate process with its own connections that SIGKILL ends
like any other, without paying the interpreter's start-up (most of a kill's
cost when each was a fresh ``python``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import URL

from sensa_db.migration_history import verify
from sensa_db.migration_safety import APPLICATION_NAME, tables_to_prelock
from sensa_db.sql_entities import load_entities
from sensa_db_tools.benchmark.loading import benchmark_database
from sensa_db_tools.local_cluster import EXTENSIONS_TEMPLATE, conninfo

WAYS = ("sigkill", "terminate")
# The runner's line just before it kills: a terminated connection need not end
# the run (the migration lock's, just before its unlock, changes nothing).
KILLING = "killing here"
# A killed runner's backend ends at its next client check (1 s) or write.
LEFTOVER_SECONDS = 30.0
RUN_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Forked:
    returncode: int
    stdout: str
    stderr: str


def _forked(work: Callable[[], int]) -> Forked:
    """Run ``work`` in a child process forked from this one; its exit code and output.

    The caller holds no open connection: the child opens its own.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        pid = os.fork()
        if pid == 0:  # pragma: no cover  # the child, measured by what it leaves
            code = 1
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                # A parent that captures output (pytest does) may have replaced
                # sys.stdout with an object not on descriptor 1: rebind both.
                sys.stdout, sys.stderr = out, err
                code = work()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
                if not isinstance(exc.code, int):
                    print(exc.code, file=sys.stderr)
            except BaseException:  # any failure is the child's exit code
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.01)
        out.seek(0)
        err.seek(0)
        return Forked(os.waitstatus_to_exitcode(status), out.read(), err.read())


def _warm_env_caches(script: ScriptDirectory) -> None:
    """Compute here what env.py derives from the package's SQL files and the
    revisions' syntax trees at every run (both cached by the files' text), so
    that forked runners inherit it instead of spending seconds on it each."""
    load_entities()
    for revision in script.walk_revisions():
        tables_to_prelock(Path(revision.path), ())


def _upgrade_and_die(url: str, alembic_ini: Path, target: str, kill_at: int, way: str) -> int:
    """Upgrade ``url`` to ``target`` through env.py; die before statement ``kill_at`` (0: never).

    Prints each statement on its own line, numbered.
    """
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
        print(KILLING, flush=True)
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
        command.upgrade(config, target)
    finally:
        engine.dispose()
    return 0


def _upgrade_as_deploy(url: str, alembic_ini: Path, target: str) -> int:
    """``alembic -x url=... upgrade <target>``: env.py's command-line path, its own engine."""
    config = Config(str(alembic_ini), cmd_opts=argparse.Namespace(x=[f"url={url}"]))
    command.upgrade(config, target)
    return 0


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


@dataclass(frozen=True)
class RevisionStep:
    """A clean ``alembic upgrade <revision>`` from the database at its parent."""

    revision: str
    parent_database: str
    database: str
    statements: tuple[str, ...]
    schema: str


@dataclass(frozen=True)
class KillPoint:
    step: RevisionStep
    kill_at: int

    @property
    def statement(self) -> str:
        return self.step.statements[self.kill_at - 1]


@dataclass
class KillOutcome:
    revision: str
    kill_at: int
    way: str
    statement: str
    reached: bool
    leftover_sessions: int = 0
    locks_held: int = 0
    invalid_after_kill: int = 0
    consistent_after_kill: bool = True
    rerun_ok: bool = False
    invalid_after_rerun: int = 0
    consistent_after_rerun: bool = False
    same_schema: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.reached
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
        time.sleep(0.05)


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


def kill_once(server: URL, alembic_ini: Path, point: KillPoint, way: str) -> KillOutcome:
    """One kill point: a clone of the database at the revision's parent, the killed
    upgrade, the checks, the re-run, the comparison with the clean run."""
    started = time.perf_counter()
    script = ScriptDirectory.from_config(Config(str(alembic_ini)))
    step = point.step
    with benchmark_database(server, step.parent_database, keep=False) as dbname:
        url = conninfo(server, dbname)
        killed = _forked(
            partial(_upgrade_and_die, url, alembic_ini, step.revision, point.kill_at, way)
        )
        outcome = KillOutcome(
            step.revision,
            point.kill_at,
            way,
            point.statement,
            reached=KILLING in killed.stdout.splitlines(),
        )
        if not outcome.reached:
            outcome.problems.append("the runner was not killed: the kill point was never reached")
        with psycopg.connect(url, autocommit=True) as owner:
            outcome.leftover_sessions = _wait_for_no_runner(owner)
            outcome.locks_held = _count(owner, _LOCKS_HELD)
            outcome.invalid_after_kill = _count(owner, _INVALID_INDEXES)
        outcome.consistent_after_kill, problems = _consistent(url, script)
        outcome.problems += [f"after the kill: {p}" for p in problems]
        rerun = _forked(partial(_upgrade_as_deploy, url, alembic_ini, step.revision))
        outcome.rerun_ok = rerun.returncode == 0
        if not outcome.rerun_ok:
            outcome.problems.append(f"the re-run failed: {rerun.stderr.strip()[-500:]}")
        with psycopg.connect(url, autocommit=True) as owner:
            outcome.invalid_after_rerun = _count(owner, _INVALID_INDEXES)
        outcome.consistent_after_rerun, problems = _consistent(url, script)
        outcome.problems += [f"after the re-run: {p}" for p in problems]
        outcome.same_schema = normalised_schema(server, dbname) == step.schema
        if not outcome.same_schema:
            outcome.problems.append(
                f"the re-run's schema differs from a clean run's at {step.revision}"
            )
    outcome.seconds = time.perf_counter() - started
    return outcome


@contextmanager
def clean_steps(
    server: URL,
    alembic_ini: Path,
    *,
    template: str = EXTENSIONS_TEMPLATE,
    revisions: Collection[str] | None = None,
) -> Iterator[list[RevisionStep]]:
    """The clean runs, one per revision from empty to head (or per revision of
    ``revisions``); their databases live until the context ends."""
    script = ScriptDirectory.from_config(Config(str(alembic_ini)))
    if len(script.get_heads()) != 1:
        raise RuntimeError(f"the kill sweep needs one head, found {script.get_heads()}")
    chain = [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]
    _warm_env_caches(script)
    with ExitStack() as databases:

        def upgraded(parent: str, revision: str) -> tuple[str, tuple[str, ...]]:
            database = databases.enter_context(benchmark_database(server, parent, keep=False))
            url = conninfo(server, database)
            run = _forked(partial(_upgrade_and_die, url, alembic_ini, revision, 0, "sigkill"))
            if run.returncode != 0:
                raise RuntimeError(
                    f"the clean upgrade to {revision} failed: {run.stderr.strip()[-2000:]}"
                )
            statements = [line.split("\t", 1) for line in run.stdout.splitlines()]
            return database, tuple(parts[1] for parts in statements if len(parts) == 2)

        empty = databases.enter_context(benchmark_database(server, template, keep=False))
        steps: list[RevisionStep] = []
        parent, at = empty, None
        for previous, revision in zip([None, *chain], chain, strict=False):
            if revisions is not None and revision not in revisions:
                continue
            if at != previous and previous is not None:
                # A sample: the revision's parent in one run from empty.
                parent, _ = upgraded(empty, previous)
            database, statements = upgraded(parent, revision)
            schema = normalised_schema(server, database)
            steps.append(RevisionStep(revision, parent, database, statements, schema))
            parent, at = database, revision
        yield steps


def first_revisions_with(alembic_ini: Path, patterns: Sequence[str]) -> list[str]:
    """For each pattern, the first revision whose file matches it."""
    script = ScriptDirectory.from_config(Config(str(alembic_ini)))
    chain = list(reversed(list(script.walk_revisions("base", "heads"))))
    return [
        next(r.revision for r in chain if re.search(pattern, Path(r.path).read_text()))
        for pattern in patterns
    ]


def _shared_length(runs: Sequence[Sequence[str]]) -> int:
    shared = 0
    for statements in zip(*runs, strict=False):
        if len(set(statements)) != 1:
            break
        shared += 1
    return shared


def kill_points(steps: Sequence[RevisionStep]) -> list[KillPoint]:
    """Every statement of the chain of clean runs, in order, as in one ``alembic
    upgrade head`` from empty: the start and the end that every run shares
    (session settings, the migration lock, the INVALID-index check, its release)
    only at the first run's start and the last run's end."""
    runs = [step.statements for step in steps]
    start = _shared_length(runs) if len(runs) > 1 else 0
    end = _shared_length([run[::-1] for run in runs]) if len(runs) > 1 else 0
    return [
        KillPoint(step, kill_at)
        for index, step in enumerate(steps)
        for kill_at in range(
            1 if index == 0 else start + 1,
            len(step.statements) + 1 if index == len(steps) - 1 else len(step.statements) - end + 1,
        )
    ]


# The steps of autocommit blocks a re-run must repair, sampled first by CI.
AUTOCOMMIT_STEPS = (r"\$backfill\$", r"VALIDATE CONSTRAINT", r"CREATE INDEX CONCURRENTLY")


def first_autocommit_steps(points: Sequence[KillPoint]) -> list[KillPoint]:
    """The first kill point at each kind of autocommit step (backfill, validation,
    concurrent build)."""
    return [
        next(point for point in points if re.search(kind, point.statement))
        for kind in AUTOCOMMIT_STEPS
    ]


def sample_points(points: Sequence[KillPoint], every: int) -> list[KillPoint]:
    """Every ``every``-th kill point, plus the first of each kind of autocommit step."""
    chosen = set(points[:: max(1, every)]) | set(first_autocommit_steps(points))
    return [point for point in points if point in chosen]


def sweep(
    server: URL,
    alembic_ini: Path,
    *,
    every: int = 1,
    ways: Sequence[str] = WAYS,
    template: str = EXTENSIONS_TEMPLATE,
    numbers: range | None = None,
    progress: bool = True,
) -> list[KillOutcome]:
    """Kill at every ``every``-th statement of the clean runs (1: all), each of ``ways``;
    only at the kill points ``numbers`` (1-based) if given, so that several processes
    can share a sweep."""
    outcomes = []
    with clean_steps(server, alembic_ini, template=template) as steps:
        points = kill_points(steps)
        chosen = points if every == 1 else sample_points(points, every)
        for number, point in enumerate(chosen, start=1):
            if numbers is not None and number not in numbers:
                continue
            for way in ways:
                outcome = kill_once(server, alembic_ini, point, way)
                outcomes.append(outcome)
                if progress:
                    print(
                        f"{number}/{len(chosen)} {point.step.revision}:{point.kill_at} {way}:"
                        f" {'ok' if outcome.ok else 'FAIL'} {outcome.seconds:.1f} s"
                        f" {outcome.statement[:60]!r} {'; '.join(outcome.problems)}",
                        file=sys.stderr,
                        flush=True,
                    )
    return outcomes


def render_markdown(outcomes: Sequence[KillOutcome]) -> str:
    failed = [outcome for outcome in outcomes if not outcome.ok]
    invalid = sum(outcome.invalid_after_kill for outcome in outcomes)
    seconds = sum(outcome.seconds for outcome in outcomes)
    lines = [
        f"{len(outcomes)} kills ({', '.join(sorted({o.way for o in outcomes}))}), {len(failed)}"
        f" failed; INVALID indexes right after a kill: {invalid}"
        f" (none after the re-runs: {all(o.invalid_after_rerun == 0 for o in outcomes)});"
        f" sessions left: {sum(o.leftover_sessions for o in outcomes)}; locks held after a kill:"
        f" {sum(o.locks_held for o in outcomes)}; re-runs with the clean run's schema:"
        f" {sum(o.same_schema for o in outcomes)}; {seconds / max(1, len(outcomes)):.2f} s"
        " per kill.",
    ]
    lines += [
        f"- FAIL at {o.revision}:{o.kill_at} ({o.way}): {'; '.join(o.problems)}" for o in failed
    ]
    return "\n".join(lines)
