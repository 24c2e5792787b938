"""The migrations_log: a row for every revision applied or reverted, and ``verify``.

env.py registers :class:`HistoryRecorder` as Alembic's ``on_version_apply``
callback. Alembic calls it inside each revision's own transaction
(``transaction_per_migration``), right after the revision ran and
alembic_version moved, so the row commits or rolls back with the revision:
the log can never claim a revision that did not commit, nor miss one that did.

The row is written by one self-contained SQL statement, rendered here with its
values inlined, because offline mode (``alembic upgrade --sql``) has no
connection to ask anything: the same statement goes into the SQL file a DBA
runs with psql. The checksum is computed when the statement is rendered, from
the very file whose SQL is being rendered, so it is exact in both modes; the
execution time is only known online and is NULL offline.

The statement adapts to the table it finds, because history itself moves
under it: before revision a6f7b47487af the table has the design's shape, one
row per applied file (``filename`` UNIQUE); from it on, one row per event. When
the revision being reverted is the one that created the table, there is no
table left to write to, and nothing is written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, text

from sensa_db.database import unmigrated

Direction = Literal["upgrade", "downgrade"]

LOG_TABLE = "public.migrations_log"


def file_checksum(path: str | Path) -> str:
    """SHA-256 of the file's bytes, as 64 lowercase hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class LogEvent:
    revision: str
    filename: str
    direction: Direction
    checksum: str
    execution_time_ms: int | None


def _literal(value: str | int | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def render_log_statement(event: LogEvent) -> str:
    """The SQL that records ``event``, valid online, offline and for either shape of the table."""
    revision, filename, direction, checksum, elapsed = (
        _literal(event.revision),
        _literal(event.filename),
        _literal(event.direction),
        _literal(event.checksum),
        _literal(event.execution_time_ms),
    )
    if event.direction == "upgrade":
        design_shape = f"""
        INSERT INTO {LOG_TABLE} (filename, checksum, execution_time_ms)
        VALUES ({filename}, {checksum}, {elapsed})
        ON CONFLICT (filename) DO UPDATE
            SET checksum = EXCLUDED.checksum, execution_time_ms = EXCLUDED.execution_time_ms,
                applied_at = now(), applied_by = SESSION_USER;"""
    else:
        # The design's rows mean "this file is applied": reverting removes it.
        design_shape = f"""
        DELETE FROM {LOG_TABLE} WHERE filename = {filename};"""
    # PL/pgSQL plans each statement only when it first runs, so the branch for
    # the shape the table does not have is never compiled against it.
    # applied_by is the login that ran the deploy: a revision acts as
    # sensa_schema_owner (SET LOCAL ROLE), which is CURRENT_USER until it ends.
    return f"""DO $sensa_migrations_log$
BEGIN
    IF to_regclass('{LOG_TABLE}') IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (
        SELECT FROM pg_catalog.pg_attribute
        WHERE attrelid = '{LOG_TABLE}'::regclass AND attname = 'direction' AND NOT attisdropped
    ) THEN
        INSERT INTO {LOG_TABLE}
            (revision, filename, direction, checksum, execution_time_ms, applied_by)
        VALUES ({revision}, {filename}, {direction}, {checksum}, {elapsed}, SESSION_USER);
    ELSE{design_shape}
    END IF;
END
$sensa_migrations_log$"""


class HistoryRecorder:
    """Alembic ``on_version_apply`` callback writing one migrations_log row per revision run.

    Execution time is measured from the end of the previous revision (or from
    :meth:`start`) to the end of this one: revisions run back to back, so that
    is the revision's own time, its transaction's commit excepted.
    """

    def __init__(self, *, timed: bool) -> None:
        self._timed = timed
        self._mark = time.monotonic()

    def start(self) -> None:
        self._mark = time.monotonic()

    def __call__(
        self,
        *,
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: set[str],
        run_args: dict[str, Any],
    ) -> None:
        # A stamp runs no revision code; verify reports stamped revisions as
        # applied without a record, which is what a DBA should be told.
        if step.is_stamp or step.up_revision is None:
            return
        script = step.up_revision
        path = Path(script.path)  # type: ignore[attr-defined]
        elapsed = round((time.monotonic() - self._mark) * 1000) if self._timed else None
        event = LogEvent(
            revision=script.revision,
            filename=path.name,
            direction="upgrade" if step.is_upgrade else "downgrade",
            checksum=file_checksum(path),
            execution_time_ms=elapsed,
        )
        ctx.execute(render_log_statement(event))
        self._mark = time.monotonic()


@dataclass(frozen=True)
class Problem:
    revision: str
    message: str

    def __str__(self) -> str:
        return f"{self.revision}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: the revisions it checked and every disagreement."""

    checked: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _LoggedState:
    filename: str
    direction: str
    checksum: str | None


def _latest_events(connection: Connection) -> dict[str, _LoggedState] | None:
    """The latest event per revision, or None when the table lacks the event-log shape."""
    has_revision_column = connection.scalar(
        text(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid ="
            " to_regclass(:table) AND attname = 'revision' AND NOT attisdropped)"
        ),
        {"table": LOG_TABLE},
    )
    if not has_revision_column:
        return None
    rows = connection.execute(
        text(
            f"SELECT DISTINCT ON (revision) revision, filename, direction, checksum"
            f" FROM {LOG_TABLE} ORDER BY revision, migration_id DESC"
        )
    )
    return {
        revision: _LoggedState(filename, direction, checksum)
        for revision, filename, direction, checksum in rows
    }


def verify(script: ScriptDirectory, connection: Connection) -> VerifyReport:
    """Compare migrations_log and alembic_version with the revision files (Flyway's ``validate``).

    Fails, naming the revision, when an applied revision's file was edited,
    renamed or is missing, when the database is at a revision this code does
    not have, or when the log and alembic_version disagree; and when no revision
    is applied at all, which is no history to vouch for (the wrong database, or
    one never migrated).
    """
    heads = MigrationContext.configure(connection).get_current_heads()
    if not heads:
        problem = Problem("(database)", str(unmigrated(connection.engine.url.database)))
        return VerifyReport((), (problem,))
    problems: list[Problem] = []
    known_heads = []
    for head in heads:
        try:
            script.get_revision(head)
        except CommandError:
            problems.append(
                Problem(
                    head,
                    "the database is at this revision but no revision file has it: the database"
                    " is ahead of this code (deploy the newer code, do not downgrade from here)",
                )
            )
        else:
            known_heads.append(head)
    try:
        applied = [rev.revision for rev in script.iterate_revisions(tuple(known_heads), "base")]
    except CommandError as exc:
        problems.append(Problem("(history)", f"the revision files do not form a history: {exc}"))
        return VerifyReport((), tuple(problems))
    logged = _latest_events(connection)
    if logged is None:
        if heads:
            problems.append(
                Problem(
                    "(migrations_log)",
                    "the table has the design's original shape, which records no revision ids:"
                    " upgrade to head before verifying",
                )
            )
        return VerifyReport(tuple(applied), tuple(problems))
    problems.extend(_check_applied(script, applied, logged))
    problems.extend(_check_logged(script, set(applied), heads, logged))
    return VerifyReport(tuple(applied), tuple(problems))


def _check_applied(
    script: ScriptDirectory, applied: Iterable[str], logged: dict[str, _LoggedState]
) -> Iterable[Problem]:
    for revision in applied:
        path = Path(script.get_revision(revision).path)
        state = logged.get(revision)
        if state is None:
            yield Problem(
                revision,
                f"applied (alembic_version) but migrations_log has no record of {path.name}:"
                " it was stamped, or applied before history was recorded",
            )
        elif state.direction != "upgrade":
            yield Problem(
                revision,
                "alembic_version says applied but the latest migrations_log event is a downgrade",
            )
        elif state.filename != path.name:
            yield Problem(
                revision,
                f"applied as {state.filename}, now named {path.name}: the file was renamed",
            )
        elif state.checksum != (current := file_checksum(path)):
            yield Problem(
                revision,
                f"{path.name} was edited after it was applied (sha256 when applied"
                f" {state.checksum}, now {current}): restore it and write a new revision",
            )


def _check_logged(
    script: ScriptDirectory,
    applied: set[str],
    heads: Iterable[str],
    logged: dict[str, _LoggedState],
) -> Iterable[Problem]:
    unknown_heads = set(heads) - applied
    for revision, state in sorted(logged.items()):
        if state.direction != "upgrade" or revision in applied or revision in unknown_heads:
            continue
        try:
            script.get_revision(revision)
        except CommandError:
            yield Problem(
                revision,
                f"applied as {state.filename} but the file is missing from the revisions",
            )
        else:
            yield Problem(
                revision,
                "migrations_log says applied but alembic_version does not include it",
            )
