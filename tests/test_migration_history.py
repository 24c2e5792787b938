"""migrations_log rows, their checksums, and `sensa-db verify`."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from sensa_db_tools.cli import main
from tests.alembic_sandbox import AlembicSandbox, repository_head, run_alembic
from tests.postgres import REPO_ROOT, PostgresServer

SCRIPT = ScriptDirectory.from_config(Config(str(REPO_ROOT / "alembic.ini")))


def revisions_in_order() -> list[tuple[str, Path]]:
    """(revision id, file) for every revision, oldest first."""
    return [
        (rev.revision, Path(rev.path))  # type: ignore[arg-type]
        for rev in reversed(list(SCRIPT.walk_revisions()))
    ]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log_rows(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    text(
                        "SELECT revision, filename, direction, checksum, execution_time_ms,"
                        " applied_by FROM migrations_log ORDER BY migration_id"
                    )
                )
            ]
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


def test_upgrading_writes_one_row_per_revision_with_the_file_checksum(
    migrated_database: str,
) -> None:
    rows = log_rows(migrated_database)
    assert [row[:4] for row in rows] == [
        (revision, path.name, "upgrade", sha256(path)) for revision, path in revisions_in_order()
    ]
    assert all(isinstance(row[4], int) and row[4] >= 0 for row in rows)
    assert {row[5] for row in rows} == {make_url(migrated_database).username}


@pytest.mark.slow
def test_upgrade_downgrade_upgrade_is_three_events(tmp_path: Path, migrated_database: str) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision(
        "e0e0e0e0e0e0",
        upgrade="op.create_table('sandbox_events', sa.Column('id', sa.Integer, primary_key=True))",
        downgrade="op.drop_table('sandbox_events')",
    )
    for args in (("upgrade", "head"), ("downgrade", "-1"), ("upgrade", "head")):
        result = sandbox.alembic(*args, url=migrated_database)
        assert result.returncode == 0, result.stderr
    events = [row[2] for row in log_rows(migrated_database) if row[0] == "e0e0e0e0e0e0"]
    assert events == ["upgrade", "downgrade", "upgrade"]


def test_a_failed_revision_leaves_no_log_row(tmp_path: Path, migrated_database: str) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision("f0f0f0f0f0f0", upgrade="op.execute('SELECT 1 / 0')")
    before = log_rows(migrated_database)
    result = sandbox.alembic("upgrade", "head", url=migrated_database)
    assert result.returncode != 0
    assert "division by zero" in result.stderr
    assert log_rows(migrated_database) == before


def test_offline_sql_records_the_same_checksums_without_timings(
    empty_database: str, pg_server: PostgresServer
) -> None:
    rendered = run_alembic("upgrade", "head", "--sql", url=None)
    assert rendered.returncode == 0, rendered.stderr
    applied = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", make_url(empty_database).database],
        input=rendered.stdout,
        env={
            **os.environ,
            "PGHOST": pg_server.host,
            "PGPORT": str(pg_server.port),
            "PGUSER": pg_server.user,
            "PGPASSWORD": pg_server.password,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    rows = log_rows(empty_database)
    assert [(row[0], row[3], row[4]) for row in rows] == [
        (revision, sha256(path), None) for revision, path in revisions_in_order()
    ]


def verify(url: str, config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["verify", "-c", str(config), "--database-url", url])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_verify_passes_on_an_untouched_history(
    migrated_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = verify(migrated_database, REPO_ROOT / "alembic.ini", capsys)
    assert (code, output.strip()) == (
        0,
        f"ok: {len(revisions_in_order())} applied revision(s) match their files and migrations_log",
    )


def test_verify_names_an_edited_revision(
    tmp_path: Path, migrated_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    head = repository_head()
    edited = sandbox.revision_file(head)
    edited.write_text(edited.read_text() + "\n# a fix made in place\n")
    code, output = verify(migrated_database, sandbox.ini, capsys)
    assert code == 1
    assert f"FAIL {head}: {edited.name} was edited after it was applied" in output


def test_verify_names_a_renamed_revision(
    tmp_path: Path, migrated_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    head = repository_head()
    original = sandbox.revision_file(head)
    original.rename(original.with_name(f"20990101_0000_{head}_renamed.py"))
    code, output = verify(migrated_database, sandbox.ini, capsys)
    assert code == 1
    assert f"FAIL {head}: applied as {original.name}, now named" in output


def test_verify_fails_when_the_database_is_ahead_of_the_code(
    tmp_path: Path, migrated_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision("a0a0a0a0a0a0", upgrade="op.execute('SELECT 1')")
    assert sandbox.alembic("upgrade", "head", url=migrated_database).returncode == 0
    code, output = verify(migrated_database, REPO_ROOT / "alembic.ini", capsys)
    assert code == 1
    assert "FAIL a0a0a0a0a0a0: the database is at this revision but no revision file has it" in (
        output
    )


def test_verify_fails_for_a_revision_applied_without_a_record(
    migrated_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = repository_head()
    execute(migrated_database, f"DELETE FROM migrations_log WHERE revision = '{head}'")
    code, output = verify(migrated_database, REPO_ROOT / "alembic.ini", capsys)
    assert code == 1
    assert f"FAIL {head}: applied (alembic_version) but migrations_log has no record" in output


def test_verify_fails_when_the_log_and_alembic_version_disagree(
    migrated_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = repository_head()
    execute(
        migrated_database,
        "INSERT INTO migrations_log (revision, filename, direction, checksum)"
        f" SELECT revision, filename, 'downgrade', checksum FROM migrations_log"
        f" WHERE revision = '{head}'",
    )
    code, output = verify(migrated_database, REPO_ROOT / "alembic.ini", capsys)
    assert code == 1
    assert f"FAIL {head}: alembic_version says applied but the latest migrations_log event" in (
        output
    )


def test_verify_fails_where_nothing_is_applied(
    empty_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty history vouches for nothing: the wrong database, or one never migrated."""
    code, output = verify(empty_database, REPO_ROOT / "alembic.ini", capsys)
    assert code == 1
    database = make_url(empty_database).database
    assert output.splitlines()[0] == (
        f"FAIL (database): database {database!r} is unmigrated (no revision applied):"
        " run `alembic upgrade head`"
    )
