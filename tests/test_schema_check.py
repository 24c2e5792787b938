"""check_schema: an application's start-up check says in one line whether its database
is unmigrated, behind or ahead of the package's schema, and what to run, as the
application's own login (which may read neither alembic_version nor migrations_log)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.pool import NullPool

import sensa_db.database
from sensa_db.database import (
    HEAD_REVISION,
    SchemaNotAtHead,
    async_check_schema,
    check_schema,
    make_async_engine,
)
from sensa_db.security import APP_ROLE, WORKER_ROLE
from tests.alembic_sandbox import AlembicSandbox
from tests.postgres import alembic_config
from tests.rls import as_login

UPGRADE = "run `alembic upgrade head`"


def test_the_package_knows_the_head_of_its_revisions() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [HEAD_REVISION], (
        f"sensa_db/database.py: set HEAD_REVISION = {heads[0]!r} (what `alembic heads` prints),"
        " so that check_schema expects the schema these revisions make"
    )


@pytest.fixture
def app_engine_on(test_logins: None) -> Iterator[dict[str, Engine]]:
    """Engines as the API's login, by database URL, disposed afterwards."""
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


def as_app(engines: dict[str, Engine], database_url: str) -> Engine:
    return engines.setdefault(
        database_url, create_engine(as_login(database_url, APP_ROLE), poolclass=NullPool)
    )


def not_at_head(engine: Engine) -> str:
    with pytest.raises(SchemaNotAtHead) as refused:
        check_schema(engine)
    return str(refused.value)


@pytest.mark.parametrize("role", [APP_ROLE, WORKER_ROLE])
def test_a_database_at_head_passes_for_the_applications_logins(
    shared_database: str, test_logins: None, role: str
) -> None:
    engine = create_engine(as_login(shared_database, role), poolclass=NullPool)
    try:
        check_schema(engine)
    finally:
        engine.dispose()


def test_an_unmigrated_database_says_so(
    empty_database: str, app_engine_on: dict[str, Engine]
) -> None:
    database = make_url(empty_database).database
    assert not_at_head(as_app(app_engine_on, empty_database)) == (
        f"database {database!r} is unmigrated (no revision applied): {UPGRADE}"
    )


def test_a_database_a_revision_behind_says_so(
    migrated_database: str, app_engine_on: dict[str, Engine]
) -> None:
    owner = create_engine(migrated_database, poolclass=NullPool)
    try:
        command.downgrade(alembic_config(owner), "-1")
    finally:
        owner.dispose()
    message = not_at_head(as_app(app_engine_on, migrated_database))
    database = make_url(migrated_database).database
    assert message.startswith(f"database {database!r} is behind this package (")
    assert message.endswith(f"the package needs {HEAD_REVISION}): {UPGRADE}")


def test_a_package_newer_than_the_database_says_the_database_is_behind(
    shared_database: str, app_engine_on: dict[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database at this package's head, read by a package whose head is newer."""
    monkeypatch.setattr(sensa_db.database, "HEAD_REVISION", "0123456789ab")
    database = make_url(shared_database).database
    assert not_at_head(as_app(app_engine_on, shared_database)) == (
        f"database {database!r} is behind this package (at revision {HEAD_REVISION};"
        f" the package needs 0123456789ab): {UPGRADE}"
    )


def test_a_database_past_the_packages_head_says_deploy_the_newer_package(
    tmp_path: Path, migrated_database: str, app_engine_on: dict[str, Engine]
) -> None:
    """A newer release's revision applied, as its deploy would, read by this package."""
    newer = "a0a0a0a0a0a0"
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision(newer, upgrade="op.execute('SELECT 1')")
    assert sandbox.alembic("upgrade", "head", url=migrated_database).returncode == 0
    database = make_url(migrated_database).database
    assert not_at_head(as_app(app_engine_on, migrated_database)) == (
        f"database {database!r} is ahead of this package (at revision {newer}, past the"
        f" package's {HEAD_REVISION}): deploy the newer package; do not downgrade the database"
    )


def test_the_async_check_says_the_same(
    shared_database: str, empty_database: str, test_logins: None
) -> None:
    async def check(database_url: str) -> None:
        engine = make_async_engine(as_login(database_url, APP_ROLE), poolclass=NullPool)
        try:
            await async_check_schema(engine)
        finally:
            await engine.dispose()

    asyncio.run(check(shared_database))
    with pytest.raises(SchemaNotAtHead, match="is unmigrated"):
        asyncio.run(check(empty_database))
