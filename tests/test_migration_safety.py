"""Concurrent deploys, bounded waits and revisions failing part-way, run as pipelines run them."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from sensa_db.migration_safety import APPLICATION_NAME, MIGRATION_LOCK_KEY, tables_to_prelock
from sensa_db.security import ADMIN_ROLE
from tests.alembic_sandbox import AlembicSandbox, repository_head, run_alembic
from tests.catalog import snapshot
from tests.postgres import REPO_ROOT
from tests.rls import as_login

# Each test runs alembic against fresh databases: left out of the fast loop
# (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow


@contextmanager
def connected(url: str) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def state(url: str) -> tuple[object, ...]:
    """Everything a failed revision must leave as it found it."""
    with connected(url) as connection:
        return (
            snapshot(connection),
            connection.execute(text("SELECT version_num FROM alembic_version")).all(),
            connection.execute(text("SELECT * FROM migrations_log ORDER BY 1")).all(),
        )


def test_four_concurrent_upgrades_build_the_schema_once(empty_database: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["DATABASE_URL"] = empty_database
    runners = [
        subprocess.Popen(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(runner.wait(timeout=300), runner.communicate()[1]) for runner in runners]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], [err for _, err in outcomes]
    assert sum("Running upgrade" in err for _, err in outcomes) == 1
    with connected(empty_database) as connection:
        applied = Counter(
            (revision, direction)
            for revision, direction in connection.execute(
                text("SELECT revision, direction FROM migrations_log")
            )
        )
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == repository_head()
    assert set(applied.values()) == {1}
    assert {direction for (_, direction) in applied} == {"upgrade"}


def test_a_runner_gives_up_on_a_held_lock_with_a_clear_message(empty_database: str) -> None:
    with connected(empty_database) as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        result = run_alembic(
            "upgrade", "head", url=empty_database, env={"SENSA_MIGRATION_LOCK_TIMEOUT": "1"}
        )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "alembic: another migration runner has held the migration lock for more than 1 s: pid "
    )
    assert "Nothing was applied" in last_line
    assert "Traceback" not in result.stderr
    with connected(empty_database) as connection:
        assert connection.scalar(text("SELECT to_regclass('alembic_version')")) is None


def test_a_waiting_runner_proceeds_once_the_lock_is_released(empty_database: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    with connected(empty_database) as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        holder.commit()
        runner = subprocess.Popen(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=REPO_ROOT,
            env={**environment, "DATABASE_URL": empty_database},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            # Wait until the runner has tried the lock, failed and looked up its
            # holder (it is idle after that look-up, which reads pg_locks, until
            # its next try): released earlier, the holder would be gone from the
            # runner's message. Only this database's runner counts: other suites
            # may migrate on the same cluster. Each check is a transaction of its
            # own, as pg_stat_activity is read once per transaction.
            while not holder.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
                    " AND datname = current_database() AND state = 'idle'"
                    " AND query LIKE '%pg_locks%'"
                ),
                {"name": APPLICATION_NAME},
            ):
                holder.commit()
                assert time.monotonic() < deadline, "the runner never tried the lock"
                time.sleep(0.1)
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            holder.commit()
            _, stderr = runner.communicate(timeout=300)
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.communicate()
    assert runner.returncode == 0, stderr
    assert "waiting up to 300 s for the migration lock held by pid" in stderr
    assert "Running upgrade" in stderr


def test_a_failing_revision_leaves_the_database_exactly_as_before(
    tmp_path: Path, migrated_database: str
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision(
        "b1b1b1b1b1b1",
        upgrade="""
            op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
            op.execute("INSERT INTO half_done VALUES (1)")
            op.add_column("users", sa.Column("half_done_id", sa.Integer))
            op.execute("SELECT 1 / 0")
        """,
    )
    before = state(migrated_database)
    result = sandbox.alembic("upgrade", "head", url=migrated_database)
    assert result.returncode != 0
    assert "division by zero" in result.stderr
    assert state(migrated_database) == before


def test_the_session_statement_timeout_applies_to_every_revision(
    tmp_path: Path, migrated_database: str
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision("c2c2c2c2c2c2", upgrade="op.execute('SELECT pg_sleep(5)')")
    result = sandbox.alembic(
        "upgrade", "head", url=migrated_database, env={"SENSA_MIGRATION_STATEMENT_TIMEOUT": "200ms"}
    )
    assert result.returncode != 0
    assert "canceling statement due to statement timeout" in result.stderr


def test_a_revision_from_the_template_retries_then_gives_up_on_a_busy_table(
    tmp_path: Path, migrated_database: str
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    made = sandbox.alembic("revision", "-m", "add a column", "--rev-id", "d3d3d3d3d3d3", url=None)
    assert made.returncode == 0, made.stderr
    path = sandbox.revision_file("d3d3d3d3d3d3")
    source = path.read_text()
    assert source.count("op.execute(f\"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'\")") == 2
    assert source.count("op.execute(f\"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'\")") == 2
    path.write_text(
        source.replace('LOCK_TIMEOUT = "5s"', 'LOCK_TIMEOUT = "200ms"').replace(
            "def downgrade",
            "    op.add_column('users', sa.Column('busy', sa.Integer))\n\n\ndef downgrade",
            1,
        )
    )
    with connected(migrated_database) as reader:
        reader.execute(text("SELECT count(*) FROM users"))  # holds ACCESS SHARE until rollback
        reader_pid = reader.scalar(text("SELECT pg_backend_pid()"))
        result = sandbox.alembic(
            "upgrade",
            "head",
            url=migrated_database,
            env={
                "SENSA_MIGRATION_DDL_LOCK_TIMEOUT": "10min",
                "SENSA_MIGRATION_LOCK_RETRY_SECONDS": "2",
            },
        )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    # The revision's own 200ms and the session's 10min both give way to the retries'
    # 50ms, first while env.py locks the table the revision names.
    assert f"prelock_timeout after {repository_head()} (attempt 1, lock timeout 50ms)" in (
        result.stderr
    )
    assert "could not take its locks" in last_line
    assert f"pid {reader_pid} " in last_line
    assert "users AccessShareLock" in last_line


CONCURRENT_INDEX = """
    with op.get_context().autocommit_block():
        # A previous attempt may have left the index INVALID (a failed build)
        # or valid but unrecorded (killed before alembic_version moved).
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS public.idx_users_email_lower")
        op.execute(
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_users_email_lower"
            " ON public.users (lower(email))"
        )
"""


def index_validity(connection: Connection) -> bool | None:
    valid: bool | None = connection.scalar(
        text(
            "SELECT indisvalid FROM pg_index"
            " WHERE indexrelid = to_regclass('public.idx_users_email_lower')"
        )
    )
    return valid


def test_a_concurrent_index_revision_reruns_after_a_failed_build(
    tmp_path: Path, migrated_database: str, test_logins: None
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision(
        "d4d4d4d4d4d4",
        upgrade=CONCURRENT_INDEX,
        downgrade="""
            with op.get_context().autocommit_block():
                op.execute("DROP INDEX CONCURRENTLY IF EXISTS public.idx_users_email_lower")
        """,
    )
    # Rows are written as staff: row-level security hides the tables from their owner.
    with connected(as_login(migrated_database, ADMIN_ROLE)) as connection:
        connection.execute(
            text(
                "INSERT INTO users (cognito_sub, email)"
                " VALUES ('sub-1', 'Ada@example.org'), ('sub-2', 'ada@example.org')"
            )
        )
        connection.commit()
    failed = sandbox.alembic("upgrade", "head", url=migrated_database)
    assert failed.returncode != 0
    assert "could not create unique index" in failed.stderr
    with connected(migrated_database) as connection:
        assert index_validity(connection) is False
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == (
            repository_head()
        )
    with connected(as_login(migrated_database, ADMIN_ROLE)) as connection:
        connection.execute(text("DELETE FROM users WHERE cognito_sub = 'sub-2'"))
        connection.commit()

    rerun = sandbox.alembic("upgrade", "head", url=migrated_database)
    assert rerun.returncode == 0, rerun.stderr
    with connected(migrated_database) as connection:
        assert index_validity(connection) is True
        assert connection.execute(
            text("SELECT direction FROM migrations_log WHERE revision = 'd4d4d4d4d4d4'")
        ).scalars().all() == ["upgrade"]


def test_a_concurrent_index_revision_reruns_after_being_killed_once_built(
    tmp_path: Path, migrated_database: str
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision("d5d5d5d5d5d5", upgrade=CONCURRENT_INDEX)
    with connected(migrated_database) as connection:
        connection.execute(
            text("CREATE UNIQUE INDEX idx_users_email_lower ON users (lower(email))")
        )
        connection.commit()
    rerun = sandbox.alembic("upgrade", "head", url=migrated_database)
    assert rerun.returncode == 0, rerun.stderr
    with connected(migrated_database) as connection:
        assert index_validity(connection) is True


def _terminate_the_lock_holder() -> str:
    # pg_terminate_backend(pid, timeout) returns once the backend has exited.
    return (
        'op.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_locks'
        " WHERE locktype = 'advisory' AND granted"
        f" AND classid = {MIGRATION_LOCK_KEY >> 32} AND objid = {MIGRATION_LOCK_KEY & 0xFFFFFFFF}"
        ' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")'
    )


@pytest.mark.parametrize("lock_lost", [True, False], ids=["lock lost", "control: lock kept"])
def test_a_lost_migration_lock_stops_the_run_before_the_next_revision(
    tmp_path: Path, migrated_database: str, lock_lost: bool
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision(
        "e4e4e4e4e4e4",
        upgrade=f"""
            op.create_table("first_marker", sa.Column("id", sa.Integer, primary_key=True))
            {_terminate_the_lock_holder() if lock_lost else "pass"}
        """,
    )
    sandbox.add_revision(
        "f5f5f5f5f5f5",
        down_revision="e4e4e4e4e4e4",
        upgrade='op.create_table("second_marker", sa.Column("id", sa.Integer, primary_key=True))',
    )
    result = sandbox.alembic("upgrade", "head", url=migrated_database)
    with connected(migrated_database) as connection:
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
        markers = connection.scalars(
            text("SELECT relname FROM pg_class WHERE relname LIKE '%_marker' ORDER BY 1")
        ).all()
    if lock_lost:
        assert result.returncode != 0
        last_line = result.stderr.strip().splitlines()[-1]
        assert last_line.startswith("alembic: the migration lock was lost: its connection (pid ")
        assert "Stopped before the next revision" in last_line
        assert "Traceback" not in result.stderr
        assert (version, markers) == (repository_head(), [])
    else:
        assert result.returncode == 0, result.stderr
        assert (version, markers) == ("f5f5f5f5f5f5", ["first_marker", "second_marker"])


def test_an_index_left_invalid_by_a_killed_build_is_rebuilt_by_the_next_run(
    migrated_database: str,
) -> None:
    index_valid = text(
        "SELECT indisvalid FROM pg_index"
        " WHERE indexrelid = 'public.idx_users_email_killed'::regclass"
    )
    with connected(migrated_database) as snapshot_holder, connected(migrated_database) as builder:
        # An open snapshot makes the concurrent build wait, after its catalog
        # entry (INVALID) has been committed, until the snapshot ends.
        snapshot_holder.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        snapshot_holder.execute(text("SELECT count(*) FROM audit_log"))
        builder_pid = builder.scalar(text("SELECT pg_backend_pid()"))
        builder.commit()
        build = threading.Thread(
            target=lambda: _ignore_errors(
                builder.execution_options(isolation_level="AUTOCOMMIT").execute,
                text("CREATE INDEX CONCURRENTLY idx_users_email_killed ON users (email)"),
            ),
            daemon=True,
        )
        build.start()
        with connected(migrated_database) as killer:
            deadline = time.monotonic() + 60
            while not killer.scalar(
                text("SELECT wait_event = 'virtualxid' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": builder_pid},
            ):
                killer.rollback()
                assert time.monotonic() < deadline, "the build never waited for the snapshot"
                time.sleep(0.05)
            killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": builder_pid})
            build.join(timeout=30)
            killer.rollback()
            assert killer.scalar(index_valid) is False
        snapshot_holder.rollback()
    result = run_alembic("upgrade", "head", url=migrated_database)
    assert result.returncode == 0, result.stderr
    assert "rebuilding INVALID index idx_users_email_killed" in result.stderr
    with connected(migrated_database) as connection:
        assert connection.scalar(index_valid) is True


def test_a_revision_edited_in_place_is_read_again_for_the_tables_it_locks(
    tmp_path: Path,
) -> None:
    # What env.py reads from a revision's syntax tree is cached by the file's
    # text (the kill sweep's forked runners inherit it): an edit is read anew.
    sandbox = AlembicSandbox(tmp_path)
    order = ["keywords", "chapters", "processed_documents"]
    path = sandbox.add_revision(
        "e6e6e6e6e6e6", upgrade="op.execute('ALTER TABLE keywords ADD COLUMN note text')"
    )
    assert tables_to_prelock(path, order) == ["keywords"]
    sandbox.add_revision(
        "e6e6e6e6e6e6", upgrade="op.execute('ALTER TABLE chapters ADD COLUMN note text')"
    )
    assert tables_to_prelock(path, order) == ["chapters"]


def _ignore_errors(function: Callable[..., object], *args: object) -> None:
    # The terminated build's error is the point of the test.
    with contextlib.suppress(DBAPIError):
        function(*args)
