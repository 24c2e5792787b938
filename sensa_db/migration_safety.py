"""What keeps concurrent deploys safe: one migration runner at a time, and bounded waits.

Several pipelines may run ``alembic upgrade head`` against one database at
once. env.py takes a session-level advisory lock on a connection of its own
before it reads the database's revision: the first runner applies, the others
wait, then read the new revision and find nothing to do. The lock is held on a
dedicated connection because the migration connection commits once per
revision (a transaction-level lock would be released after the first), and
that connection stays in autocommit so it never holds a snapshot open, which
would stall ``CREATE INDEX CONCURRENTLY`` on the migration connection forever.
A crashed runner's lock goes with its connection; and a runner whose lock
connection dies stops before its next revision (:meth:`MigrationLock.ensure_held`),
since a second runner may already be migrating.

A revision's locks are taken GitLab's ``with_lock_retries`` way
(:class:`LockRetries`): each attempt waits at most a few hundred milliseconds
for a lock, so the application never queues behind a migration for longer,
and a revision that could not get its locks is rolled back whole and run again
after a growing sleep, up to a bounded total. Each attempt's wait stays below
PostgreSQL's default ``deadlock_timeout`` (1 s), so when a migration and an
application transaction wait on each other, the migration's attempt gives up
before the deadlock detector would pick a victim among the application's
transactions. Past the bound, the run fails naming the sessions that held on.

A killed ``CREATE INDEX CONCURRENTLY`` (or ``REINDEX CONCURRENTLY``) leaves an
INVALID index, which ``IF NOT EXISTS`` would then keep for ever: every run
rebuilds those first (:func:`rebuild_invalid_indexes`).

Run migrations against the instance endpoint, never through a pooler: behind
PgBouncer's transaction pooling the lock is left on whichever server
connection ran that statement, and the migration's own statements go to any
other; RDS Proxy pins the session that takes it. env.py refuses to migrate
when it sees the sign of transaction pooling: its migration connection
landing on the very server session that holds the lock
(:func:`refuse_pooled_connection`).
"""

from __future__ import annotations

import ast
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

log = logging.getLogger(__name__)

# One fixed key per database (advisory locks are per database): "SENSADB" in ASCII.
MIGRATION_LOCK_KEY = int.from_bytes(b"SENSADB", "big")

LOCK_WAIT_ENV = "SENSA_MIGRATION_LOCK_TIMEOUT"
DEFAULT_LOCK_WAIT_SECONDS = 300.0
DDL_LOCK_TIMEOUT_ENV = "SENSA_MIGRATION_DDL_LOCK_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "SENSA_MIGRATION_STATEMENT_TIMEOUT"
# Session defaults for every statement a migration runs, including revisions
# written before the template set its own (which are never edited) and the
# statements of an autocommit_block, where a revision's SET LOCAL has ended.
DEFAULT_DDL_LOCK_TIMEOUT = "5s"
DEFAULT_STATEMENT_TIMEOUT = "5min"
# A backend checks that its client is still there while a statement runs, so a
# killed runner's statement (an index build, say) stops within a second instead
# of running on, holding its locks, after the runner's migration lock is gone.
CLIENT_CONNECTION_CHECK_INTERVAL = "1s"

LOCK_RETRY_ENV = "SENSA_MIGRATION_LOCK_RETRY_SECONDS"
DEFAULT_LOCK_RETRY_SECONDS = 60.0
# Per attempt: the longest wait for any one lock, then the sleep before the
# next attempt; the last entry repeats. Every wait stays below 1 s, PostgreSQL's
# default deadlock_timeout (see the module's docstring).
LOCK_ATTEMPT_TIMEOUTS_MS = (50, 100, 200, 300, 500)
LOCK_RETRY_SLEEPS_SECONDS = (0.1, 0.2, 0.4, 0.8, 1.0)
# What a retry cures: a lock the attempt could not get in time, or a deadlock
# in which PostgreSQL chose the migration as the victim.
RETRYABLE_SQLSTATES = {"55P03": "lock_not_available", "40P01": "deadlock_detected"}
PRELOCK_TIMEOUT = "prelock_timeout"

APPLICATION_NAME = "sensa-db migrations"

_DURATION = re.compile(r"\d+\s*(ms|s|min|h)?")


class MigrationLockTimeoutError(RuntimeError):
    """Another runner held the migration lock for longer than we were willing to wait."""


class MigrationThroughPoolerError(RuntimeError):
    """The migration connection goes through a transaction-pooling pooler."""


class MigrationSettingError(ValueError):
    """A migration setting from the environment is not a valid value."""


class MigrationLockLostError(RuntimeError):
    """The connection holding the migration lock ended while revisions were being applied."""


class LockRetriesExhaustedError(RuntimeError):
    """A revision could not take its locks within the retry bound."""


def _seconds(env: str, default: float) -> float:
    raw = os.environ.get(env)
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        raise MigrationSettingError(f"{env} must be a number of seconds") from None
    if seconds < 0:
        raise MigrationSettingError(f"{env} must not be negative")
    return seconds


def lock_wait_seconds() -> float:
    return _seconds(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT_SECONDS)


def lock_retry_seconds() -> float:
    return _seconds(LOCK_RETRY_ENV, DEFAULT_LOCK_RETRY_SECONDS)


def _duration(env: str, default: str) -> str:
    value = os.environ.get(env, default).strip()
    if not _DURATION.fullmatch(value):
        raise MigrationSettingError(
            f"{env} must be a PostgreSQL duration such as 5s, 500ms, 10min or 0 (none)"
        )
    return value


def session_timeout_statements() -> list[str]:
    """``SET`` statements for the migration session's lock and statement timeouts.

    Online, :class:`LockRetries` replaces the lock timeout with each attempt's
    own; the one here is for the offline SQL, which a DBA runs once with psql.
    """
    return [
        f"SET lock_timeout = '{_duration(DDL_LOCK_TIMEOUT_ENV, DEFAULT_DDL_LOCK_TIMEOUT)}'",
        f"SET statement_timeout = '{_duration(STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT)}'",
        f"SET client_connection_check_interval = '{CLIENT_CONNECTION_CHECK_INTERVAL}'",
    ]


_LOCK_KEY_PARAMETERS = {"high": MIGRATION_LOCK_KEY >> 32, "low": MIGRATION_LOCK_KEY & 0xFFFFFFFF}


def refuse_pooled_connection(connection: Connection) -> None:
    """Refuse a migration connection that shares its server session with the lock's holder.

    The lock is held on a connection of its own: on a direct connection the two
    are different server sessions. Behind transaction pooling, the server
    session that ran ``pg_try_advisory_lock`` went back to the pool and is the
    first the pooler hands out next.
    """
    shares_the_lock = connection.scalar(
        text(
            """
            SELECT EXISTS (
                SELECT FROM pg_catalog.pg_locks
                WHERE locktype = 'advisory' AND granted AND pid = pg_catalog.pg_backend_pid()
                  AND classid = :high AND objid = :low AND objsubid = 1
            )
            """
        ),
        _LOCK_KEY_PARAMETERS,
    )
    if shares_the_lock:
        raise MigrationThroughPoolerError(
            "the migration connection runs on the server session that holds the migration"
            " lock: a transaction-pooling pooler (PgBouncer, RDS Proxy) is in between, where"
            " a session-level lock and session settings cannot hold. Nothing was applied."
            " Migrate through the database's own endpoint (host and port of the instance),"
            " not the pooler's (docs/OPERATIONS.md)."
        )


def retryable_reason(error: DBAPIError) -> str | None:
    """The condition name when a retry of the whole revision can cure ``error``, else None."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    return RETRYABLE_SQLSTATES.get(sqlstate) if isinstance(sqlstate, str) else None


# Any PostgreSQL form a revision may use: SET [LOCAL|SESSION] lock_timeout = / TO '...'
_SET_LOCK_TIMEOUT = re.compile(
    r"(?P<head>\s*SET\s+(?:LOCAL\s+|SESSION\s+)?lock_timeout\s*(?:=|TO)\s*)'[^']*'\s*;?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LockHolder:
    """A session whose transaction holds a lock on one of our tables."""

    pid: int
    xact_start: datetime
    description: str


def lock_holders(
    connection: Connection, *, other_than: Iterable[int], begun_before: datetime
) -> list[LockHolder]:
    """Sessions holding a lock on one of our tables in a transaction begun before ``begun_before``.

    Once an attempt has given up its wait is over, and pg_blocking_pids() has
    nothing left to say; the transactions already open when the attempt began
    and still open now are the ones that held what it waited for (the
    application's own transactions last milliseconds).
    """
    rows = connection.execute(
        text(
            """
            SELECT a.pid, a.xact_start, a.usename, a.application_name, a.state,
                   extract(epoch FROM clock_timestamp() - a.xact_start) AS open_seconds,
                   string_agg(DISTINCT c.relname || ' ' || l.mode, ', ') AS locks,
                   left(a.query, 80) AS query
            FROM pg_catalog.pg_locks AS l
            JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
            JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
            WHERE l.locktype = 'relation' AND l.granted
              AND l.database = (SELECT oid FROM pg_catalog.pg_database
                                WHERE datname = current_database())
              AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
              AND a.pid <> ALL(:ours)
              AND a.xact_start < :begun_before
            GROUP BY a.pid, a.xact_start, a.usename, a.application_name, a.state, a.query
            ORDER BY a.xact_start
            """
        ),
        {"ours": list(other_than), "begun_before": begun_before},
    ).all()
    return [
        LockHolder(
            pid,
            xact_start,
            f"pid {pid} ({user}, {application or 'no application_name'}, {state}, transaction"
            f" open {open_seconds:.1f} s, holding {locks}, last query: {query!r})",
        )
        for pid, xact_start, user, application, state, open_seconds, locks, query in rows
    ]


class LockRetries:
    """GitLab's ``with_lock_retries``, at the granularity of a revision.

    env.py runs each revision with :attr:`lock_timeout` as its lock timeout,
    overriding any the revision sets itself (revisions written before this
    helper set 5 s, which would queue the application behind them for 5 s).
    On a retryable failure the revision's transaction is rolled back and
    :meth:`after_failure` waits before the next attempt: while the
    transactions that held the locks are still open it only watches them
    (a lock request would queue the application behind it; watching does
    not) and retries as soon as they end; otherwise it sleeps a growing
    while. It raises once the revision has been retried for ``bound_seconds``.
    """

    def __init__(self, bound_seconds: float, *, poll_seconds: float = 0.05) -> None:
        self.bound_seconds = bound_seconds
        self.poll_seconds = poll_seconds
        self.attempt = 0
        self._first_failure: float | None = None

    @property
    def lock_timeout(self) -> str:
        return f"{LOCK_ATTEMPT_TIMEOUTS_MS[min(self.attempt, len(LOCK_ATTEMPT_TIMEOUTS_MS) - 1)]}ms"

    def enforce(self, statement: str) -> str:
        """``statement`` with any lock timeout it sets replaced by this attempt's."""
        match = _SET_LOCK_TIMEOUT.fullmatch(statement)
        if match is None:
            return statement
        return f"{match['head']}'{self.lock_timeout}'"

    @property
    def elapsed(self) -> float:
        """Seconds since the current revision's first attempt failed (0 before).

        Counted from the failure, not from the attempt's start: a long revision
        (a backfill in an autocommit_block) that fails late still gets its retries.
        """
        return 0.0 if self._first_failure is None else time.monotonic() - self._first_failure

    def revision_applied(self) -> None:
        """The next revision starts with a short timeout and a whole bound of its own."""
        self.attempt = 0
        self._first_failure = None

    def _exhausted(self, reason: str, at_revision: str, holders: str) -> LockRetriesExhaustedError:
        return LockRetriesExhaustedError(
            f"the revision after {at_revision} could not take its locks: {reason} on each of"
            f" {self.attempt + 1} attempts over {self.elapsed:.1f} s (the bound is"
            f" {self.bound_seconds:g} s, {LOCK_RETRY_ENV}). Held by: {holders}. The revision"
            f" was rolled back; the database is at {at_revision}. End or wait for those"
            " sessions, then run again."
        )

    def after_failure(
        self, reason: str, *, at_revision: str, holders: Callable[[], list[LockHolder]]
    ) -> None:
        """Wait until the next attempt may start, or raise when the bound would be passed."""
        if self._first_failure is None:
            self._first_failure = time.monotonic()
        blocking = holders()
        if blocking:
            log.warning(
                "%s after %s (attempt %d, lock timeout %s): retrying when these end: %s",
                reason,
                at_revision,
                self.attempt + 1,
                self.lock_timeout,
                "; ".join(holder.description for holder in blocking),
                extra={"lock_retry": True},
            )
            while blocking:
                if self.elapsed + self.poll_seconds > self.bound_seconds:
                    raise self._exhausted(
                        reason, at_revision, "; ".join(h.description for h in blocking)
                    )
                time.sleep(self.poll_seconds)
                open_now = {(holder.pid, holder.xact_start) for holder in holders()}
                blocking = [h for h in blocking if (h.pid, h.xact_start) in open_now]
        else:
            sleep = LOCK_RETRY_SLEEPS_SECONDS[min(self.attempt, len(LOCK_RETRY_SLEEPS_SECONDS) - 1)]
            if self.elapsed + sleep > self.bound_seconds:
                raise self._exhausted(
                    reason, at_revision, "short transactions only, never a long one"
                )
            log.warning(
                "%s after %s (attempt %d, lock timeout %s): retrying in %g s",
                reason,
                at_revision,
                self.attempt + 1,
                self.lock_timeout,
                sleep,
                extra={"lock_retry": True},
            )
            time.sleep(sleep)
        self.attempt += 1


class PrelockTimeoutError(RuntimeError):
    """The tables a revision names could not all be locked within one attempt's timeout."""


# A revision may name the tables to lock before it runs, overriding what
# env.py infers from its text: LOCK_TABLES = ("keywords", "chapters"), or ()
# for none (a data migration that only takes row locks).
LOCK_TABLES_CONSTANT = "LOCK_TABLES"


@cache
def _syntax_tree(source: str, filename: str) -> ast.Module:
    # Keyed by the file's text, so an edited file is parsed again. Parsing every
    # revision costs about a second; a process that runs many upgrades (the
    # kill sweep's forked runners) parses each once.
    return ast.parse(source, filename=filename)


def _revision_tree(path: Path) -> ast.Module:
    return _syntax_tree(path.read_text(), str(path))


def revision_constant(path: Path, name: str) -> object:
    """The literal value of ``name`` at the top of the revision file ``path``, else None.

    Read from the syntax tree, never imported: a revision is not run to learn about it.
    """
    for node in _revision_tree(path).body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name and value is not None:
            try:
                return ast.literal_eval(value)
            except ValueError:
                raise MigrationSettingError(
                    f"{path.name}: {name} must be a literal (a tuple, a dict, a string)"
                ) from None
    return None


@cache
def _code_strings(source: str, filename: str) -> str | None:
    """The strings a revision's code holds, joined; None for one with an autocommit_block.

    Cached by text, as :func:`_syntax_tree`: walking the tree is most of the cost.
    """
    tree = _syntax_tree(source, filename)
    if any(
        isinstance(node, ast.Attribute) and node.attr == "autocommit_block"
        for node in ast.walk(tree)
    ):
        return None
    # The tables its code names in strings (SQL, entity names, table tuples);
    # not its docstring or comments, which may mention any table.
    docstring = ast.get_docstring(tree, clean=False)
    return " ".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value != docstring
    )


def tables_to_prelock(path: Path, tables_children_first: Sequence[str]) -> list[str]:
    """The tables to lock, children first, before running the revision at ``path``.

    A revision's DDL takes ACCESS EXCLUSIVE locks one table at a time, in its
    own order, while the application's statements and owner triggers lock
    child tables before their parents: the two orders cross and deadlock
    (40P01), and under steady traffic a revision that locks a parent first
    never gets its child at all. Taking every table the revision names in
    one statement, children first, at the start of its transaction, leaves
    the application no order to invert. None for a revision with an
    autocommit_block: it commits before its statements run, so a lock taken
    first would be gone by then.
    """
    declared = revision_constant(path, LOCK_TABLES_CONSTANT)
    if declared is not None:
        if not (isinstance(declared, tuple | list) and all(isinstance(t, str) for t in declared)):
            raise MigrationSettingError(
                f"{path.name}: {LOCK_TABLES_CONSTANT} must be a tuple of table names"
            )
        return [table for table in tables_children_first if table in declared]
    strings = _code_strings(path.read_text(), str(path))
    if strings is None:
        return []
    return [
        table for table in tables_children_first if re.search(rf"\b{table}\b", strings) is not None
    ]


def tables_children_first(connection: Connection) -> list[str]:
    """Our tables, each before every table its foreign keys reference."""
    rows = connection.execute(
        text(
            """
            SELECT c.relname, coalesce(array_agg(p.relname) FILTER (WHERE p.relname IS NOT NULL
                                                  AND p.oid <> c.oid), '{}')
            FROM pg_catalog.pg_class AS c
            LEFT JOIN pg_catalog.pg_constraint AS k ON k.conrelid = c.oid AND k.contype = 'f'
            LEFT JOIN pg_catalog.pg_class AS p ON p.oid = k.confrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
            GROUP BY c.relname
            """
        )
    ).all()
    parents = {name: set(referenced) for name, referenced in rows}
    depth: dict[str, int] = {}

    def depth_of(table: str, seen: frozenset[str] = frozenset()) -> int:
        if table not in depth:
            above = parents.get(table, set()) - seen - {table}
            depth[table] = 1 + max((depth_of(p, seen | {table}) for p in above), default=0)
        return depth[table]

    return sorted(parents, key=lambda table: (-depth_of(table), table))


def prelock(connection: Connection, tables: Sequence[str], *, timeout: str) -> None:
    """LOCK ``tables`` in ACCESS EXCLUSIVE mode, in this order, within ``timeout`` in all.

    The whole statement, not each lock, is bounded by ``timeout`` (below the
    deadlock_timeout): while it waits it may already hold the first tables,
    and an application transaction waiting on those must never see its
    deadlock check fire before this statement has given up.
    """
    # Computed when the run began: an earlier revision of this run may have
    # dropped or renamed one since.
    tables = connection.scalars(
        text(
            "SELECT name FROM unnest(CAST(:tables AS text[])) WITH ORDINALITY AS t(name, position)"
            " WHERE to_regclass(format('public.%I', name)) IS NOT NULL ORDER BY position"
        ),
        {"tables": list(tables)},
    ).all()
    if not tables:
        return
    previous = connection.scalar(text("SELECT current_setting('statement_timeout')"))
    connection.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": timeout})
    names = ", ".join(f'public."{table}"' for table in tables)
    try:
        connection.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in ("57014", *RETRYABLE_SQLSTATES):
            raise PrelockTimeoutError(
                f"could not lock {', '.join(tables)} within {timeout}"
            ) from exc
        raise
    connection.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": previous})


def rebuild_invalid_indexes(connection: Connection) -> list[str]:
    """Rebuild every INVALID index in public, on an autocommit connection; their names.

    A build killed part-way leaves its index INVALID: unused by queries, yet
    maintained by every write, and kept by ``CREATE INDEX ... IF NOT EXISTS``.
    Under the migration lock no other build is running, so an INVALID index
    is a dead one. A leftover of an interrupted ``REINDEX CONCURRENTLY``
    (``<name>_ccnew``/``_ccold``) is a duplicate and is dropped; any other is
    rebuilt where it stands.
    """
    names = connection.scalars(
        text(
            """
            SELECT c.relname FROM pg_catalog.pg_index AS i
            JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
            WHERE NOT i.indisvalid AND c.relnamespace = 'public'::regnamespace
            ORDER BY c.relname
            """
        )
    ).all()
    for name in names:
        duplicate = re.search(r"_cc(new|old)\d*$", name) is not None
        log.warning(
            "%s INVALID index %s left by an interrupted build",
            "dropping" if duplicate else "rebuilding",
            name,
        )
        verb = "DROP INDEX CONCURRENTLY IF EXISTS" if duplicate else "REINDEX INDEX CONCURRENTLY"
        try:
            connection.execute(text(f'{verb} public."{name}"'))
        except DBAPIError as exc:
            # A rebuild that cannot get its locks now leaves the index as it
            # was: the revision that builds it drops it first, and the next
            # run tries again. It must not stop this run.
            log.warning("could not rebuild INVALID index %s now: %s", name, exc.orig)
    return list(names)


def _holder(connection: Connection) -> str:
    row = connection.execute(
        text(
            """
            SELECT a.pid, a.usename, a.application_name, a.client_addr, a.backend_start
            FROM pg_catalog.pg_locks AS l
            JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
                    SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
              AND l.classid = :high AND l.objid = :low AND l.objsubid = 1
            """
        ),
        _LOCK_KEY_PARAMETERS,
    ).first()
    if row is None:
        return "a session that has just released it"
    pid, user, application, client, since = row
    return (
        f"pid {pid} ({user}, {application or 'no application_name'}, from"
        f" {client or 'a local socket'}, connected {since:%Y-%m-%d %H:%M:%S %Z})"
    )


class MigrationLock:
    """The held migration lock, on its own autocommit connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.pid: int = connection.scalar(text("SELECT pg_backend_pid()"))

    def ensure_held(self) -> None:
        """Raise :class:`MigrationLockLostError` unless this session still holds the lock."""
        try:
            held = self.connection.scalar(
                text(
                    "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory'"
                    " AND pid = pg_backend_pid() AND granted AND classid = :high"
                    " AND objid = :low AND objsubid = 1)"
                ),
                {"high": MIGRATION_LOCK_KEY >> 32, "low": MIGRATION_LOCK_KEY & 0xFFFFFFFF},
            )
        except SQLAlchemyError:
            held = False
        if not held:
            raise MigrationLockLostError(
                f"the migration lock was lost: its connection (pid {self.pid}) ended while"
                " revisions were being applied, so another runner may be migrating now."
                " Stopped before the next revision; the revision in progress was rolled back."
                f" Check pg_stat_activity for application_name '{APPLICATION_NAME}', then run"
                " again."
            )


@contextmanager
def migration_lock(
    engine: Engine, *, wait_seconds: float, poll_seconds: float = 0.5
) -> Iterator[MigrationLock]:
    """Hold the database's migration lock; wait at most ``wait_seconds`` for it."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while not connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        ):
            holder = _holder(connection)
            if time.monotonic() >= deadline:
                raise MigrationLockTimeoutError(
                    f"another migration runner has held the migration lock for more than"
                    f" {wait_seconds:g} s: {holder}. Nothing was applied. Let it finish and"
                    f" run again, or wait longer with {LOCK_WAIT_ENV}=<seconds>."
                )
            if not announced:
                log.warning(
                    "waiting up to %g s for the migration lock held by %s", wait_seconds, holder
                )
                announced = True
            time.sleep(poll_seconds)
        try:
            yield MigrationLock(connection)
        finally:
            try:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            except SQLAlchemyError:
                # The connection is gone, and the lock went with it; the
                # error that broke it is the one worth reporting.
                log.debug("migration lock connection lost before unlocking", exc_info=True)
