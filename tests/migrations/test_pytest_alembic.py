"""pytest-alembic's built-in checks, as the floor every revision stands on, and its
no-trace check done on committed databases."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from pytest_alembic import MigrationContext
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from pytest_alembic.tests.experimental import (
    test_all_models_register_on_metadata as _all_models_register_on_metadata,
)
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from sensa_db_tools.benchmark.kill_sweep import normalised_schema
from tests.postgres import REPO_ROOT, PostgresServer

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]

# Every revision up (and down), one at a time: left out of the fast loop.
test_upgrade = pytest.mark.slow(test_upgrade)
test_up_down_consistency = pytest.mark.slow(test_up_down_consistency)


@pytest.mark.slow
def test_all_models_register_on_metadata(alembic_runner: MigrationContext) -> None:
    _all_models_register_on_metadata(alembic_runner, "sensa_db.models")


# A downgrade may keep a constraint its upgrade validated (f8b5fda23e4a's
# foreign key): validation is a fact about the rows, and undoing it would drop
# and re-add the constraint under a lock for nothing. It must not leave one
# unvalidated that its parent had validated.
NOT_VALID = " NOT VALID;"


def validated_alike(schema: str) -> str:
    return schema.replace(NOT_VALID, ";")


def not_valid(schema: str) -> set[str]:
    return {line for line in schema.splitlines() if line.endswith(NOT_VALID)}


@pytest.mark.slow
def test_every_downgrade_leaves_no_trace(pg_server: PostgresServer, empty_database: str) -> None:
    """Each revision upgraded and downgraded on a committed database: the schema
    (pg_dump) at its parent is the same before and after.

    pytest-alembic's experimental test_downgrade_leaves_no_trace does this in
    savepoints, where a revision with an autocommit_block (a concurrent index
    build, a batched backfill) cannot run: it had to skip them, and a later
    revision that restores such a revision's work on downgrade (7353a34f00a9
    puts back 52a077888982's functions) then differed from a sandbox that never
    had it. Committed, every revision runs, and the dump also compares what
    autogenerate cannot see.
    """
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    server, dbname = (
        make_url(pg_server.url("postgres", driver="postgresql")),
        make_url(empty_database).database,
    )
    assert dbname is not None
    engine = create_engine(empty_database, poolclass=NullPool)
    config.attributes["connection"] = engine
    try:
        for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions())):
            # The first revision's downgrade is to base, which keeps alembic's version
            # table: test_downgrade_base_leaves_nothing_and_upgrade_works_again.
            if script.down_revision is not None:
                parent = normalised_schema(server, dbname)
                command.upgrade(config, script.revision)
                command.downgrade(config, str(script.down_revision))
                after = normalised_schema(server, dbname)
                assert validated_alike(after) == validated_alike(parent), script.revision
                assert not_valid(after) <= not_valid(parent), script.revision
            command.upgrade(config, script.revision)
        # The control: a function a downgrade left changed shows in the dump.
        at_head = normalised_schema(server, dbname)
        with engine.begin() as connection:
            connection.execute(
                text("ALTER FUNCTION public.find_similar_documents SET work_mem = '8MB'")
            )
        assert normalised_schema(server, dbname) != at_head
    finally:
        engine.dispose()


def test_a_downgrade_may_keep_a_validation_but_not_drop_one() -> None:
    validated = "    ADD CONSTRAINT t_u_fkey FOREIGN KEY (u) REFERENCES public.u(u);"
    unvalidated = validated.replace(";", NOT_VALID)
    assert validated_alike(unvalidated) == validated_alike(validated)
    assert not_valid(validated) <= not_valid(unvalidated)
    assert not not_valid(unvalidated) <= not_valid(validated)
