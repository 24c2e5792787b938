"""The Alembic commands as deploy pipelines and DBAs run them, in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.catalog import CatalogSnapshot, snapshot
from tests.postgres import REPO_ROOT, PostgresServer

# Each test runs alembic against fresh databases: left out of the fast loop
# (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow


def alembic(*args: str, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SENSA_DB_SECRET_ID", "SENSA_DB_IAM_AUTH")
    }
    if url is not None:
        env["DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def plain_url(url: str) -> str:
    """The URL as users write it: postgresql://, no driver named."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def catalog(url: str) -> CatalogSnapshot:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return snapshot(connection)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def head_catalog(shared_database: str) -> CatalogSnapshot:
    return catalog(shared_database)


@pytest.fixture
def database_at_head(migrated_database: str) -> str:
    return plain_url(migrated_database)


def test_without_a_url_env_py_says_so_in_one_line(empty_database: str) -> None:
    result = alembic("upgrade", "head", url=None)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "alembic: no database URL: set DATABASE_URL "
        "(e.g. postgresql://user:password@localhost:5432/sensa;"
        " on AWS SENSA_DB_SECRET_ID or SENSA_DB_IAM_AUTH=1)"
        " or pass one (alembic -x url=..., sensa-db --database-url ...)"
    )


def test_a_wrong_password_gives_one_line_naming_host_user_and_cause(empty_database: str) -> None:
    url = make_url(plain_url(empty_database)).set(password="not-the-password-i16")
    result = alembic("upgrade", "head", url=url.render_as_string(hide_password=False))
    assert result.returncode != 0
    assert "not-the-password-i16" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines() == [
        f"alembic: cannot connect to database {url.database!r} at {url.host}:{url.port} as"
        f' {url.username}: password authentication failed for user "{url.username}"'
    ]


def test_x_url_argument_takes_precedence_over_the_environment(
    empty_database: str, head_catalog: CatalogSnapshot
) -> None:
    result = alembic(
        "-x",
        f"url={plain_url(empty_database)}",
        "upgrade",
        "head",
        url="postgresql://nobody@nowhere/none",
    )
    assert result.returncode == 0, result.stderr
    assert catalog(empty_database) == head_catalog


def test_a_plain_postgresql_url_upgrades_an_empty_database_to_head(
    empty_database: str, head_catalog: CatalogSnapshot
) -> None:
    result = alembic("upgrade", "head", url=plain_url(empty_database))
    assert result.returncode == 0, result.stderr
    assert catalog(empty_database) == head_catalog


def test_a_psycopg2_url_works_too(database_at_head: str) -> None:
    url = (
        make_url(database_at_head)
        .set(drivername="postgresql+psycopg2")
        .render_as_string(hide_password=False)
    )
    result = alembic("current", url=url)
    assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout


def test_upgrading_twice_changes_nothing(
    database_at_head: str, head_catalog: CatalogSnapshot
) -> None:
    result = alembic("upgrade", "head", url=database_at_head)
    assert result.returncode == 0, result.stderr
    assert "Running upgrade" not in result.stderr
    assert catalog(database_at_head) == head_catalog


def test_check_passes_at_head_and_fails_on_drift(database_at_head: str) -> None:
    clean = alembic("check", url=database_at_head)
    assert clean.returncode == 0, clean.stderr
    assert "No new upgrade operations detected" in clean.stdout

    engine = create_engine(
        database_at_head.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool
    )
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX idx_keywords_term_trgm"))
    engine.dispose()
    drifted = alembic("check", url=database_at_head)
    assert drifted.returncode != 0
    assert "idx_keywords_term_trgm" in drifted.stderr


def test_downgrade_base_leaves_nothing_and_upgrade_works_again(
    database_at_head: str, head_catalog: CatalogSnapshot
) -> None:
    down = alembic("downgrade", "base", url=database_at_head)
    assert down.returncode == 0, down.stderr
    emptied = catalog(database_at_head)
    assert emptied.tables == {"alembic_version"}
    assert (
        emptied.enums,
        emptied.indexes.keys() - {("alembic_version", "alembic_version_pkc")},
    ) == ({}, set())
    assert emptied.sequences == frozenset()

    up = alembic("upgrade", "head", url=database_at_head)
    assert up.returncode == 0, up.stderr
    assert catalog(database_at_head) == head_catalog


def test_offline_sql_applies_cleanly_with_psql(
    empty_database: str, head_catalog: CatalogSnapshot, pg_server: PostgresServer
) -> None:
    rendered = alembic("upgrade", "head", "--sql", url=None)
    assert rendered.returncode == 0, rendered.stderr
    dbname = make_url(empty_database).database
    assert dbname is not None
    applied = subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            pg_server.host,
            "-p",
            str(pg_server.port),
            "-U",
            pg_server.user,
            "-d",
            dbname,
        ],
        input=rendered.stdout,
        env={**os.environ, "PGPASSWORD": pg_server.password},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    assert catalog(empty_database) == head_catalog
