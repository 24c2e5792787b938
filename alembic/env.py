"""Alembic environment for sensa-db.

The database comes from ``-x url=...``, else from what sensa_db.database
resolves: ``$DATABASE_URL``, an AWS Secrets Manager secret or an RDS IAM
token (never from alembic.ini). ``alembic upgrade head --sql`` needs none: it
renders for PostgreSQL without connecting.

Every revision run writes a migrations_log row in its own transaction
(sensa_db.migration_history). Online runs hold the migration lock, set the
session's lock and statement timeouts, rebuild INVALID indexes an interrupted
run left, take each revision's locks with short timeouts and retries, and stop
before the next revision if the migration lock is lost
(sensa_db.migration_safety).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial, wraps
from logging.config import fileConfig
from pathlib import Path
from typing import Any

# Importing alembic_postgresql_enum registers its comparator: enum types are
# compared value by value (an added value becomes ALTER TYPE ... ADD VALUE, a
# removed or renamed one a new type the columns are converted to, see
# docs/MIGRATION_GUIDELINES.md), and `alembic check` fails on any difference.
import alembic_postgresql_enum  # noqa: F401
from alembic import context, op
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, Engine, event, pool, text
from sqlalchemy.exc import DBAPIError

from sensa_db.database import DatabaseURLError, make_engine
from sensa_db.enum_sync import keep_dependents
from sensa_db.migration_history import HistoryRecorder
from sensa_db.migration_safety import (
    APPLICATION_NAME,
    PRELOCK_TIMEOUT,
    LockRetries,
    LockRetriesExhaustedError,
    MigrationLock,
    MigrationLockLostError,
    MigrationLockTimeoutError,
    MigrationSettingError,
    MigrationThroughPoolerError,
    PrelockTimeoutError,
    lock_holders,
    lock_retry_seconds,
    lock_wait_seconds,
    migration_lock,
    prelock,
    rebuild_invalid_indexes,
    refuse_pooled_connection,
    retryable_reason,
    session_timeout_statements,
    tables_children_first,
    tables_to_prelock,
)
from sensa_db.models import metadata
from sensa_db.sql_entities import load_declared_entities
from sensa_db.sql_entity_drift import DECLARED_ENTITIES_OPTION, DeclaredEntityError

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def _slug(message: str | None) -> str:
    """The file-name slug alembic makes of a message (alembic.script.base)."""
    return "_".join(re.findall(r"\w+", message or "")).lower()


def refuse_a_cut_slug(message: str | None) -> None:
    """Refuse a message whose slug alembic would cut.

    Past ``truncate_slug_length`` alembic drops the last word and leaves a
    trailing ``_`` in the file name; a reader then sees half a title. Refused
    before anything is written, naming the rule.
    """
    limit = int(config.get_main_option("truncate_slug_length") or "40")
    slug = _slug(message)
    if len(slug) > limit:
        raise SystemExit(
            f"alembic: the message's slug {slug!r} has {len(slug)} characters, over"
            f" truncate_slug_length ({limit}): say it in 4 to 6 words; the details go"
            " in the revision's docstring"
        )


# `alembic revision -m ...` on the command line: refused before connecting and
# comparing. (Called from Python, the message is known only to the hook below.)
refuse_a_cut_slug(getattr(config.cmd_opts, "message", None))


def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
    """Refuse a message whose slug alembic would cut, keep what an enum
    conversion would break (sensa_db.enum_sync), then render as geoalchemy2 does."""
    for script in directives:
        refuse_a_cut_slug(script.message)
    if context.connection is not None:
        keep_dependents(context.connection, directives)
    alembic_helpers.writer(context, revision, directives)


def include_object(
    obj: Any, name: str | None, obj_type: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave PostGIS's own tables (spatial_ref_sys) out of comparisons."""
    return bool(alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to))


COMPARISON_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "compare_type": True,
    "compare_server_default": True,
    # Everything lives in public. alembic_utils' own comparator, with nothing
    # registered, would otherwise list every schema's entities for dropping.
    "include_schemas": False,
    "include_object": include_object,
    "process_revision_directives": process_revision_directives,
    "render_item": alembic_helpers.render_item,
    # Functions, triggers and policies declared in sensa_db are compared like
    # tables, in one savepoint (sensa_db.sql_entity_drift), in the schema
    # alembic compares and their own; extensions' functions are left out.
    DECLARED_ENTITIES_OPTION: load_declared_entities(),
    # Each revision commits on its own: a failure leaves the database at the
    # last revision that succeeded, never half-way through one.
    "transaction_per_migration": True,
}


def _url_from_command_line() -> str | None:
    url: str | None = context.get_x_argument(as_dictionary=True).get("url")
    return url


def run_migrations_offline() -> None:
    recorder = HistoryRecorder(timed=False)
    context.configure(
        url=None,
        dialect_name="postgresql",
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        on_version_apply=[recorder],
        **COMPARISON_OPTIONS,
    )
    # Whoever runs the rendered SQL gets the same session timeouts as an online run.
    for statement in session_timeout_statements():
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def _run_with_connection(connection: Connection) -> None:
    recorder = HistoryRecorder(timed=True)
    context.configure(connection=connection, on_version_apply=[recorder], **COMPARISON_OPTIONS)
    with context.begin_transaction():
        recorder.start()
        context.run_migrations()


def _locking_tables_first(
    function: Callable[..., None], path: Path, order: list[str], retries: LockRetries
) -> Callable[..., None]:
    @wraps(function)
    def run(**run_args: Any) -> None:
        # Read from the file when the revision runs: `alembic check` runs none.
        tables = tables_to_prelock(path, order)
        if tables:
            prelock(op.get_bind(), tables, timeout=retries.lock_timeout)
        function(**run_args)

    return run


def _take_tables_first(script: ScriptDirectory, order: list[str], retries: LockRetries) -> None:
    """Make every revision lock the tables it names, children first, before its statements.

    The revision files stay as they are (their checksums are history); their
    loaded functions are wrapped for this run only.
    """
    for revision in script.walk_revisions():
        for name in ("upgrade", "downgrade"):
            # A module loaded by an earlier run in this process keeps that
            # run's wrapper: wrap the revision's own function again.
            function = getattr(revision.module, name)
            function = getattr(function, "__wrapped__", function)
            wrapped = _locking_tables_first(function, Path(revision.path), order, retries)
            setattr(revision.module, name, wrapped)


def _run_with_lock_retries(connection: Connection, lock: MigrationLock) -> None:
    """Apply the revisions one transaction each, retrying any that could not take its locks."""
    recorder = HistoryRecorder(timed=True)
    retries = LockRetries(lock_retry_seconds())

    def lock_still_held(**_: Any) -> None:
        lock.ensure_held()

    def revision_applied(**_: Any) -> None:
        retries.revision_applied()

    def enforce_lock_timeout(
        conn: Connection, cursor: Any, statement: str, parameters: Any, *args: Any
    ) -> tuple[str, Any]:
        return retries.enforce(statement), parameters

    # Callbacks run inside each revision's transaction, in this order: a lost
    # lock rolls the revision back before it is recorded.
    context.configure(
        connection=connection,
        on_version_apply=[lock_still_held, recorder, revision_applied],
        **COMPARISON_OPTIONS,
    )
    migration_pid = connection.scalar(text("SELECT pg_backend_pid()"))
    _take_tables_first(context.script, tables_children_first(connection), retries)
    connection.commit()
    event.listen(connection, "before_cursor_execute", enforce_lock_timeout, retval=True)
    try:
        while True:
            # Also the timeout inside autocommit_block, where SET LOCAL has ended.
            connection.execute(text(f"SET lock_timeout = '{retries.lock_timeout}'"))
            attempt_began = connection.scalar(text("SELECT clock_timestamp()"))
            connection.commit()
            try:
                with context.begin_transaction():
                    recorder.start()
                    context.run_migrations()
                return
            except DBAPIError as exc:
                reason = retryable_reason(exc)
                if reason is None:
                    raise
                connection.rollback()
            except PrelockTimeoutError:
                reason = PRELOCK_TIMEOUT
                connection.rollback()
            lock.ensure_held()
            # Each attempt starts again from what the last one left: alembic
            # re-reads alembic_version, and no INVALID index survives.
            rebuild_invalid_indexes(lock.connection)
            retries.after_failure(
                reason,
                at_revision=context.get_context().get_current_revision() or "base",
                holders=partial(
                    lock_holders,
                    lock.connection,
                    other_than=(lock.pid, migration_pid),
                    begun_before=attempt_began,
                ),
            )
    finally:
        event.remove(connection, "before_cursor_execute", enforce_lock_timeout)


def _run_locked(engine: Engine) -> None:
    # Connected only once the lock is held, so a runner that waited reads the
    # revision its predecessor left, and finds nothing to do.
    with (
        migration_lock(engine, wait_seconds=lock_wait_seconds()) as lock,
        engine.connect() as connection,
    ):
        refuse_pooled_connection(connection)
        for statement in session_timeout_statements():
            connection.execute(text(statement))
            lock.connection.execute(text(statement))
        connection.commit()
        rebuild_invalid_indexes(lock.connection)
        _run_with_lock_retries(connection, lock)


def run_migrations_online() -> None:
    # Tests, pytest-alembic and the CLI may hand over an engine or a
    # connection. A connection (or pytest-alembic's stand-in for an engine
    # wrapping one) is used as it is, inside its owner's transaction and
    # without the lock: the owner decides about both.
    provided: Any = config.attributes.get("connection")
    if isinstance(provided, Connection):
        _run_with_connection(provided)
        return
    if provided is not None and not isinstance(provided, Engine):
        with provided.connect() as connection:
            _run_with_connection(connection)
        return
    try:
        if provided is not None:
            _run_locked(provided)
            return
        engine = make_engine(
            _url_from_command_line(),
            name_connection_failures=True,
            poolclass=pool.NullPool,
            connect_args={"application_name": APPLICATION_NAME},
        )
        try:
            _run_locked(engine)
        finally:
            engine.dispose()
    except (
        DatabaseURLError,
        DeclaredEntityError,
        MigrationSettingError,
        MigrationLockTimeoutError,
        LockRetriesExhaustedError,
        MigrationLockLostError,
        MigrationThroughPoolerError,
    ) as exc:
        raise SystemExit(f"alembic: {exc}") from None


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
