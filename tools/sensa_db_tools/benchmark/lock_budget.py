"""The lock budget: revisions applied to a populated database while the application runs.

:func:`measure` applies revisions one at a time, each with ``alembic upgrade
<revision>`` in a subprocess exactly as a deploy runs it (the real env.py:
migration lock, lock retries), while :class:`Workload` keeps clients of the
application busy as the app role (reads of a chapter's concept map, progress
heartbeats, keyword inserts) and :class:`LockSampler` reads ``pg_locks`` every
few tens of milliseconds. Per revision it reports the longest time each of our
tables was held, or waited for, by the migration in a mode that blocks one of
the workload's statements; the workload's p99 and max latency before the
first revision and during each one; the workload's errors; and the lock
retries the runner logged.

A revision fails its budget when a table with rows was blocked for longer than
its budget (:data:`DEFAULT_BUDGET_SECONDS`, or what the revision declares in
``LOCK_BUDGET_EXCEPTIONS``, read from the file's syntax tree, never imported),
when the workload met a deadlock or a serialization failure (or any other
error) during it, or when the revision itself failed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from sensa_db.migration_safety import APPLICATION_NAME, revision_constant
from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools.benchmark.loading import BENCH_LOGINS, benchmark_database
from sensa_db_tools.benchmark.runner import populate
from sensa_db_tools.benchmark.scale import Scale
from sensa_db_tools.local_cluster import EXTENSIONS_TEMPLATE, conninfo

DEFAULT_BUDGET_SECONDS = 1.0
EXCEPTIONS_CONSTANT = "LOCK_BUDGET_EXCEPTIONS"
EXPECTED_ERRORS_CONSTANT = "EXPECTED_WORKLOAD_ERRORS"
# The modes that conflict with ACCESS SHARE (the reads) or ROW EXCLUSIVE (the
# heartbeats and inserts); SHARE UPDATE EXCLUSIVE (VALIDATE, CONCURRENTLY)
# blocks none of the workload's statements.
BLOCKING_MODES = ("ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
FAILING_SQLSTATES = {"40P01": "deadlock", "40001": "serialization failure"}
# What env.py logs before each retry (sensa_db.migration_safety.LockRetries).
_RETRY_LINE = re.compile(
    r"\b(?:lock_not_available|deadlock_detected|prelock_timeout) after \S+ \(attempt \d+"
)


class BudgetDeclarationError(ValueError):
    """A revision's LOCK_BUDGET_EXCEPTIONS is not a literal {table: (seconds, reason)}."""


@dataclass(frozen=True)
class BudgetException:
    seconds: float
    reason: str


def declared_exceptions(path: Path) -> dict[str, BudgetException]:
    """The revision file's ``LOCK_BUDGET_EXCEPTIONS = {"table": (seconds, "reason")}``, if any."""
    declared = revision_constant(path, EXCEPTIONS_CONSTANT)
    if declared is None:
        return {}
    if not isinstance(declared, dict):
        raise BudgetDeclarationError(
            f"{path.name}: {EXCEPTIONS_CONSTANT} must be a literal dict"
            ' {"table": (seconds, "reason")}'
        )
    exceptions = {}
    for table, entry in declared.items():
        if not (
            isinstance(table, str)
            and isinstance(entry, tuple)
            and len(entry) == 2
            and isinstance(entry[0], int | float)
            and entry[0] > 0
            and isinstance(entry[1], str)
            and entry[1].strip()
        ):
            raise BudgetDeclarationError(
                f"{path.name}: {EXCEPTIONS_CONSTANT}[{table!r}] must be (seconds > 0,"
                " a non-empty reason)"
            )
        exceptions[table] = BudgetException(float(entry[0]), entry[1])
    return exceptions


def declared_expected_errors(path: Path) -> dict[str, str]:
    """The revision file's ``EXPECTED_WORKLOAD_ERRORS = {"sqlstate": "reason"}``, if any.

    For a revision whose switch-over refuses the few application transactions
    that straddle its commit, by design (failing closed). A deadlock or a
    serialization failure can never be declared: the revision must avoid them.
    """
    declared = revision_constant(path, EXPECTED_ERRORS_CONSTANT)
    if declared is None:
        return {}
    if not (
        isinstance(declared, dict)
        and all(
            isinstance(sqlstate, str) and isinstance(reason, str) and reason.strip()
            for sqlstate, reason in declared.items()
        )
    ):
        raise BudgetDeclarationError(
            f"{path.name}: {EXPECTED_ERRORS_CONSTANT} must be a literal dict"
            ' {"sqlstate": "a non-empty reason"}'
        )
    if forbidden := sorted(set(declared) & set(FAILING_SQLSTATES)):
        raise BudgetDeclarationError(
            f"{path.name}: {EXPECTED_ERRORS_CONSTANT} may not excuse"
            f" {', '.join(FAILING_SQLSTATES[s] + f' ({s})' for s in forbidden)}:"
            " take the locks in an order the application cannot invert instead"
        )
    return dict(declared)


@dataclass(frozen=True)
class Operation:
    kind: str
    started: float
    milliseconds: float
    sqlstate: str | None


@dataclass(frozen=True)
class Target:
    """A learner's progress row: whose, on which chapter."""

    user_id: str
    chapter_id: str


_READ = """
    SELECT k.term FROM public.keywords AS k
    JOIN public.chapters AS ch ON ch.chapter_id = k.chapter_id
    WHERE ch.processed_id = (SELECT processed_id FROM public.chapters WHERE chapter_id = %s)
"""
_HEARTBEAT = """
    UPDATE public.user_progress
    SET time_spent_seconds = time_spent_seconds + 30, last_activity_date = current_date
    WHERE user_id = %s AND chapter_id = %s
"""
# No user_id: the column is added, backfilled and stamped by the revisions measured.
_INSERT_KEYWORD = """
    INSERT INTO public.keywords (chapter_id, term, definition) VALUES (%s, %s, %s)
"""


class Workload:
    """Clients of the API as the app role, each a steady loop of short transactions."""

    def __init__(
        self, app_conninfo: str, targets: list[Target], *, clients: int, seed: int = 7
    ) -> None:
        if not targets:
            raise ValueError("the database has no progress rows to work on: populate it first")
        self._conninfo = app_conninfo
        self._targets = targets
        self._clients = clients
        self._seed = seed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.operations: list[Operation] = []

    def _client(self, number: int) -> None:
        rng = np.random.default_rng(self._seed + number)
        with psycopg.connect(self._conninfo) as connection:
            while not self._stop.is_set():
                target = self._targets[int(rng.integers(0, len(self._targets)))]
                kind = ("read", "read", "heartbeat", "insert keyword")[int(rng.integers(0, 4))]
                started = time.monotonic()
                sqlstate = None
                try:
                    connection.execute(
                        "SELECT public.set_current_user_id(%s::uuid)", (target.user_id,)
                    )
                    if kind == "read":
                        connection.execute(_READ, (target.chapter_id,)).fetchall()
                    elif kind == "heartbeat":
                        connection.execute(_HEARTBEAT, (target.user_id, target.chapter_id))
                    else:
                        connection.execute(
                            _INSERT_KEYWORD,
                            (target.chapter_id, f"term {started:.6f}", "written under load"),
                        )
                    connection.commit()
                except psycopg.Error as exc:
                    sqlstate = exc.sqlstate or "connection"
                    connection.rollback()
                elapsed = (time.monotonic() - started) * 1000
                with self._lock:
                    self.operations.append(Operation(kind, started, elapsed, sqlstate))
                # A steady rate, not a saturating one: the machine also runs the migration.
                self._stop.wait(0.005)

    def start(self) -> None:
        for number in range(self._clients):
            thread = threading.Thread(target=self._client, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def between(self, start: float, end: float) -> list[Operation]:
        with self._lock:
            return [op for op in self.operations if start <= op.started < end]


_BLOCKING_LOCKS = """
    SELECT DISTINCT c.relname
    FROM pg_catalog.pg_locks AS l
    JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
    JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'relation' AND l.mode = ANY(%s)
      AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
      AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND a.application_name = %s
"""


class LockSampler:
    """Which of our tables the migration holds or waits for in a blocking mode, every tick."""

    def __init__(self, owner_conninfo: str, *, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self._conninfo = owner_conninfo
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.samples: list[tuple[float, frozenset[str]]] = []

    def _sample(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True) as connection:
            while not self._stop.is_set():
                at = time.monotonic()
                tables = frozenset(
                    name
                    for (name,) in connection.execute(
                        _BLOCKING_LOCKS, (list(BLOCKING_MODES), APPLICATION_NAME)
                    )
                )
                self.samples.append((at, tables))
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - at)))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def longest_blocking(self, start: float, end: float) -> dict[str, float]:
        """Per table, the longest run of consecutive samples in [start, end) that saw it."""
        longest: dict[str, float] = {}
        since: dict[str, float] = {}
        window = [(at, tables) for at, tables in self.samples if start <= at < end]
        for at, tables in [*window, (end, frozenset())]:
            for table in tables:
                since.setdefault(table, at)
            for table in [t for t in since if t not in tables]:
                # A run seen once lasted at least one tick.
                run = max(at - since.pop(table), self.interval)
                longest[table] = max(longest.get(table, 0.0), run)
        return longest


@dataclass(frozen=True)
class Latency:
    operations: int
    p99_ms: float | None
    max_ms: float | None

    @classmethod
    def of(cls, operations: list[Operation]) -> Latency:
        if not operations:
            return cls(0, None, None)
        values = [op.milliseconds for op in operations]
        return cls(len(values), float(np.percentile(values, 99)), max(values))


@dataclass(frozen=True)
class TableBlock:
    table: str
    rows: int
    seconds: float
    budget_seconds: float | None
    exception_reason: str | None

    @property
    def over_budget(self) -> bool:
        return self.budget_seconds is not None and self.seconds > self.budget_seconds


@dataclass
class RevisionResult:
    revision: str
    title: str
    # migrations_log's time of the attempt that succeeded, and the whole run
    # of `alembic upgrade <revision>` (process start-up, every attempt).
    seconds: float | None
    wall_seconds: float
    tables: list[TableBlock]
    latency: Latency
    errors: dict[str, int]
    lock_retries: int
    failure: str | None = None
    problems: list[str] = field(default_factory=list)
    # The workload's errors the revision declares with a reason (declared_expected_errors).
    expected_errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class BudgetReport:
    clients: int
    interval_seconds: float
    default_budget_seconds: float
    table_rows: dict[str, int]
    before: Latency
    before_errors: dict[str, int]
    revisions: list[RevisionResult]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.revisions) and not self.before_errors


def _errors(operations: list[Operation]) -> dict[str, int]:
    return dict(Counter(op.sqlstate for op in operations if op.sqlstate is not None))


def _table_rows(connection: psycopg.Connection[Any]) -> dict[str, int]:
    # Planner estimates, fresh after the load's ANALYZE: exact counts of a
    # production-sized table would cost a scan each.
    rows = connection.execute(
        "SELECT relname, greatest(reltuples, 0)::bigint FROM pg_catalog.pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
    ).fetchall()
    return {name: int(count) for name, count in rows}


def _targets(admin_conninfo: str, limit: int = 500) -> list[Target]:
    with psycopg.connect(admin_conninfo) as admin:
        rows = admin.execute(
            "SELECT user_id::text, chapter_id::text FROM public.user_progress"
            " ORDER BY progress_id LIMIT %s",
            (limit,),
        ).fetchall()
    return [Target(user_id, chapter_id) for user_id, chapter_id in rows]


def revisions_between(script: ScriptDirectory, start: str, stop: str) -> list[str]:
    """The revisions an upgrade from ``start`` to ``stop`` applies, in order."""
    return [
        revision.revision
        for revision in reversed(list(script.iterate_revisions(stop, start)))
        if revision.revision != start
    ]


def _alembic(
    alembic_ini: Path, url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env or {})
    return subprocess.run(  # noqa: S603  # our own interpreter and arguments
        [sys.executable, "-m", "alembic", "-c", str(alembic_ini), "-x", f"url={url}", *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def _failure(stderr: str) -> str:
    """What failed, from alembic's stderr: env.py's own message, else the exception's line
    (SQLAlchemy ends a traceback with a link, not with the error)."""
    lines = stderr.strip().splitlines() or ["no output"]
    for line in reversed(lines):
        if line.startswith("alembic: ") or re.match(r"[\w.]+(Error|Exception): ", line):
            return line
    return lines[-1]


def _logged_milliseconds(owner: psycopg.Connection[Any], revision: str) -> int | None:
    row = owner.execute(
        "SELECT execution_time_ms FROM public.migrations_log WHERE revision = %s"
        " ORDER BY migration_id DESC LIMIT 1",
        (revision,),
    ).fetchone()
    owner.commit()
    return None if row is None else row[0]


def revision_problems(result: RevisionResult) -> list[str]:
    problems = [
        f"{block.table} blocked {block.seconds:.2f} s, over its budget of"
        f" {block.budget_seconds:g} s"
        for block in result.tables
        if block.over_budget
    ]
    for sqlstate, count in sorted(result.errors.items()):
        if sqlstate in result.expected_errors:
            continue
        name = FAILING_SQLSTATES.get(sqlstate, "error")
        problems.append(f"the workload met {count} {name} ({sqlstate})")
    if result.failure is not None:
        problems.append(f"the revision failed: {result.failure}")
    return problems


@contextmanager
def _running(workload: Workload, sampler: LockSampler) -> Iterator[None]:
    workload.start()
    sampler.start()
    try:
        yield
    finally:
        workload.stop()
        sampler.stop()


@dataclass(frozen=True)
class MeasureOptions:
    clients: int = 4
    interval_seconds: float = 0.025
    baseline_seconds: float = 3.0
    pause_seconds: float = 0.5
    default_budget_seconds: float = DEFAULT_BUDGET_SECONDS
    # Extra environment for the alembic runs (SENSA_MIGRATION_* settings).
    alembic_env: dict[str, str] = field(default_factory=dict)


def prepare(
    server: URL,
    dbname: str,
    alembic_ini: Path,
    scale: Scale,
    *,
    start: str,
    load_at: str = "head",
    seed: int = 7,
    progress: bool = True,
) -> None:
    """Bring the empty database ``dbname`` to ``load_at``, load the benchmark's data set at
    ``scale`` there (its loader writes the models' columns), then downgrade it to ``start``."""
    owner_url = conninfo(server, dbname)
    for args in (("upgrade", load_at), ("downgrade", start)):
        if args == ("downgrade", start) and start == load_at:
            break
        run = _alembic(alembic_ini, owner_url, *args)
        if run.returncode != 0:
            raise RuntimeError(f"alembic {' '.join(args)} failed: {run.stderr.strip()}")
        if args[0] == "upgrade":
            with psycopg.connect(owner_url) as owner:
                populate(server, dbname, owner, scale, seed=seed, progress=progress)


def measure(
    server: URL,
    dbname: str,
    alembic_ini: Path,
    *,
    start: str,
    stop: str = "head",
    options: MeasureOptions | None = None,
    before_revision: Callable[[str], None] | None = None,
) -> BudgetReport:
    """Upgrade the populated database ``dbname`` from ``start`` to ``stop`` under load, one
    revision at a time, as its owner (``server``'s login); the workload runs as the
    benchmark's app login. ``before_revision(revision)``, if given, is called just before
    each revision starts (tests open a conflicting transaction there).
    """
    options = options or MeasureOptions()
    owner_url = conninfo(server, dbname)
    app_url = conninfo(server, dbname, BENCH_LOGINS[APP_ROLE])
    admin_url = conninfo(server, dbname, BENCH_LOGINS[ADMIN_ROLE])
    config = Config(str(alembic_ini))
    script = ScriptDirectory.from_config(config)
    revisions = revisions_between(script, start, stop)
    with psycopg.connect(owner_url) as owner:
        table_rows = _table_rows(owner)
        owner.commit()
        workload = Workload(app_url, _targets(admin_url), clients=options.clients)
        sampler = LockSampler(owner_url, interval_seconds=options.interval_seconds)
        results: list[RevisionResult] = []
        with _running(workload, sampler):
            began = time.monotonic()
            time.sleep(options.baseline_seconds)
            baseline = workload.between(began, time.monotonic())
            for revision in revisions:
                if before_revision is not None:
                    before_revision(revision)
                window_start = time.monotonic()
                run = _alembic(alembic_ini, owner_url, "upgrade", revision, env=options.alembic_env)
                window_end = time.monotonic()
                revision_path = Path(script.get_revision(revision).path)
                exceptions = declared_exceptions(revision_path)
                blocked = sampler.longest_blocking(window_start, window_end)
                during = workload.between(window_start, window_end)
                logged = _logged_milliseconds(owner, revision) if run.returncode == 0 else None
                result = RevisionResult(
                    revision=revision,
                    title=(script.get_revision(revision).doc or "").splitlines()[0],
                    seconds=None if logged is None else logged / 1000,
                    wall_seconds=window_end - window_start,
                    tables=[
                        TableBlock(
                            table=table,
                            rows=table_rows.get(table, 0),
                            seconds=seconds,
                            budget_seconds=(
                                exceptions[table].seconds
                                if table in exceptions
                                else options.default_budget_seconds
                                if table_rows.get(table, 0) > 0
                                else None
                            ),
                            exception_reason=(
                                exceptions[table].reason if table in exceptions else None
                            ),
                        )
                        for table, seconds in sorted(blocked.items())
                    ],
                    latency=Latency.of(during),
                    errors=_errors(during),
                    lock_retries=len(_RETRY_LINE.findall(run.stderr)),
                    failure=None if run.returncode == 0 else _failure(run.stderr),
                    expected_errors=declared_expected_errors(revision_path),
                )
                result.problems = revision_problems(result)
                results.append(result)
                if run.returncode != 0:
                    break
                time.sleep(options.pause_seconds)
    return BudgetReport(
        clients=options.clients,
        interval_seconds=options.interval_seconds,
        default_budget_seconds=options.default_budget_seconds,
        table_rows=table_rows,
        before=Latency.of(baseline),
        before_errors=_errors(baseline),
        revisions=results,
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_markdown(report: BudgetReport) -> str:
    """The report as a Markdown table a DBA can paste into docs/OPERATIONS.md."""
    lines = [
        f"{report.clients} clients of the app role; pg_locks sampled every"
        f" {report.interval_seconds * 1000:.0f} ms; budget {report.default_budget_seconds:g} s"
        " per table with rows unless the revision declares more.",
        "",
        f"Before the first revision: {report.before.operations} operations,"
        f" p99 {_ms(report.before.p99_ms)} ms, max {_ms(report.before.max_ms)} ms,"
        f" errors {report.before_errors or 'none'}.",
        "",
        "| revision | took (s): last attempt / whole run | longest blocking lock per table (s)"
        " | workload p99 / max"
        " during (ms) | p99 during / before | errors | lock retries | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in report.revisions:
        tables = (
            ", ".join(
                f"{block.table} {block.seconds:.2f}"
                + (
                    f" (declared {block.budget_seconds:g}: {block.exception_reason})"
                    if block.exception_reason
                    else ""
                )
                for block in result.tables
            )
            or "none"
        )
        ratio = (
            f"{result.latency.p99_ms / report.before.p99_ms:.2f}x"
            if result.latency.p99_ms is not None and report.before.p99_ms
            else "-"
        )
        lines.append(
            f"| `{result.revision}` {result.title} | {_seconds(result.seconds)} /"
            f" {result.wall_seconds:.1f} | {tables} |"
            f" {_ms(result.latency.p99_ms)} / {_ms(result.latency.max_ms)} | {ratio} |"
            f" {_errors_cell(result)} | {result.lock_retries} |"
            f" {'ok' if result.ok else 'FAIL: ' + '; '.join(result.problems)} |"
        )
    return "\n".join(lines)


def _errors_cell(result: RevisionResult) -> str:
    if not result.errors:
        return "none"
    return ", ".join(
        f"{count} {sqlstate}"
        + (
            f" (declared: {result.expected_errors[sqlstate]})"
            if sqlstate in result.expected_errors
            else ""
        )
        for sqlstate, count in sorted(result.errors.items())
    )


def run_lock_budget(
    server: URL,
    alembic_ini: Path,
    scale: Scale,
    *,
    start: str,
    stop: str = "head",
    template: str = EXTENSIONS_TEMPLATE,
    keep: bool = False,
    seed: int = 7,
    progress: bool = True,
    options: MeasureOptions | None = None,
) -> BudgetReport:
    """The whole harness in a database of its own: create, populate at ``scale``, measure."""
    with benchmark_database(server, template, keep=keep) as dbname:
        prepare(server, dbname, alembic_ini, scale, start=start, seed=seed, progress=progress)
        return measure(server, dbname, alembic_ini, start=start, stop=stop, options=options)
