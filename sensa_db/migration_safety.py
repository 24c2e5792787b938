"""What keeps concurrent deploys safe: one migration runner at a time, and bounded waits.

Several pipelines may run ``alembic upgrade head`` against one database at
once. env.py takes a session-level advisory lock on a connection of its own
before it reads the database's revision: the first runner applies, the others
wait, then read the new revision and find nothing to do. The lock is held on a
dedicated connection because the migration connection commits once per
revision (a transaction-level lock would be released after the first), and
that connection stays in autocommit so it never holds a snapshot open, which
would stall ``CREATE INDEX CONCURRENTLY`` on the migration connection forever.
A crashed runner's lock goes with its connection.

Run migrations against the instance endpoint, never through a pooler: behind
PgBouncer's transaction pooling the lock is left on whichever server
connection ran that statement, and the migration's own statements go to any
other; RDS Proxy pins the session that takes it. env.py refuses to migrate
when it sees the sign of transaction pooling: its migration connection
landing on the very server session that holds the lock
(:func:`refuse_pooled_connection`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

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

APPLICATION_NAME = "sensa-db migrations"

_DURATION = re.compile(r"\d+\s*(ms|s|min|h)?")


class MigrationLockTimeoutError(RuntimeError):
    """Another runner held the migration lock for longer than we were willing to wait."""


class MigrationThroughPoolerError(RuntimeError):
    """The migration connection goes through a transaction-pooling pooler."""


class MigrationSettingError(ValueError):
    """A migration setting from the environment is not a valid value."""


def lock_wait_seconds() -> float:
    raw = os.environ.get(LOCK_WAIT_ENV)
    if raw is None:
        return DEFAULT_LOCK_WAIT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise MigrationSettingError(f"{LOCK_WAIT_ENV} must be a number of seconds") from None
    if seconds < 0:
        raise MigrationSettingError(f"{LOCK_WAIT_ENV} must not be negative")
    return seconds


def _duration(env: str, default: str) -> str:
    value = os.environ.get(env, default).strip()
    if not _DURATION.fullmatch(value):
        raise MigrationSettingError(
            f"{env} must be a PostgreSQL duration such as 5s, 500ms, 10min or 0 (none)"
        )
    return value


def session_timeout_statements() -> list[str]:
    """``SET`` statements for the migration session's lock and statement timeouts."""
    return [
        f"SET lock_timeout = '{_duration(DDL_LOCK_TIMEOUT_ENV, DEFAULT_DDL_LOCK_TIMEOUT)}'",
        f"SET statement_timeout = '{_duration(STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT)}'",
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


@contextmanager
def migration_lock(
    engine: Engine, *, wait_seconds: float, poll_seconds: float = 0.5
) -> Iterator[None]:
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
            yield
        finally:
            try:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            except DBAPIError:
                # The connection is gone, and the lock went with it; the
                # error that broke it is the one worth reporting.
                log.debug("migration lock connection lost before unlocking", exc_info=True)
