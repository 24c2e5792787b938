"""pytest-alembic's built-in checks, as the floor every revision stands on."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext as AlembicMigrationContext
from alembic.script import ScriptDirectory
from alembic_utils.replaceable_entity import ReplaceableEntity, registry
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
from pytest_alembic.tests.experimental import (
    test_downgrade_leaves_no_trace as _downgrade_leaves_no_trace,
)
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from sensa_db.sql_entities import ENTITY_TYPES
from sensa_db_tools.benchmark.kill_sweep import normalised_schema
from tests.postgres import REPO_ROOT, PostgresServer

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


def _sorted_from_database(
    entity_type: type[ReplaceableEntity],
) -> Callable[[Session, str], list[ReplaceableEntity]]:
    from_database = entity_type.from_database

    def sorted_from_database(session: Session, schema: str = "%") -> list[ReplaceableEntity]:
        return sorted(from_database(session, schema), key=lambda entity: entity.identity)

    return sorted_from_database


def test_all_models_register_on_metadata(alembic_runner: MigrationContext) -> None:
    _all_models_register_on_metadata(alembic_runner, "sensa_db.models")


# alembic_utils simulates entities in savepoints of its own; when pytest-alembic
# then rolls back its enclosing savepoint SQLAlchemy notes the inner one is gone.
@pytest.mark.filterwarnings(
    "ignore:nested transaction already deassociated:sqlalchemy.exc.SAWarning"
)
def test_downgrade_leaves_no_trace(
    alembic_runner: MigrationContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This test compares schemas through a MigrationContext it configures
    # without options, while alembic_utils' comparator (registered by env.py)
    # reads `include_schemas` from them. Supply what env.py itself configures.
    configure = AlembicMigrationContext.configure

    def configure_with_env_options(
        connection: Connection | None = None, *args: Any, **kwargs: Any
    ) -> AlembicMigrationContext:
        kwargs["opts"] = {"include_schemas": False, **(kwargs.get("opts") or {})}
        return configure(connection, *args, **kwargs)

    monkeypatch.setattr(
        AlembicMigrationContext, "configure", staticmethod(configure_with_env_options)
    )
    # The package's functions and triggers describe head: below it their tables
    # may not exist, so alembic_utils cannot simulate them. Without local
    # entities it still lists every function and trigger in the database (as
    # drops) in both diffs, so one a downgrade leaves behind still shows.
    monkeypatch.setattr(registry, "entities", list)
    # alembic_utils lists what the database holds in catalog scan order, which
    # an ALTER ... OWNER (a rewritten pg_proc row) changes: sort it, so that
    # the two diffs differ only where the schema does.
    for entity_type in ENTITY_TYPES:
        monkeypatch.setattr(entity_type, "from_database", _sorted_from_database(entity_type))
    skipped = skipped_in_the_sandbox(alembic_runner.command_executor.alembic_config)
    _downgrade_leaves_no_trace(
        dataclasses.replace(
            alembic_runner,
            config=dataclasses.replace(alembic_runner.config, skip_revisions=skipped),
        )
    )


# Revisions whose downgrade puts back what a committing revision made, which the
# sandbox never had: 7353a34f00a9 restores the half-precision functions of
# 52a077888982.
RESTORES_A_COMMITTING_REVISIONS_WORK = ("7353a34f00a9",)


def skipped_in_the_sandbox(config: Config) -> list[str]:
    """The revisions test_downgrade_leaves_no_trace cannot cycle in its savepoints.

    A revision with an autocommit_block (a batched backfill, a concurrent index
    build) must commit as it goes and cannot run in a savepoint; one that restores
    such a revision's work on downgrade would differ from a sandbox that skipped
    it. test_the_skipped_revisions_leave_no_trace_for_real cycles them instead.
    """
    committing = [
        script.revision
        for script in ScriptDirectory.from_config(config).walk_revisions()
        if "autocommit_block()" in inspect.getsource(script.module)
    ]
    assert committing, "no revision commits as it goes: drop this skip"
    return committing + list(RESTORES_A_COMMITTING_REVISIONS_WORK)


def test_the_skipped_revisions_leave_no_trace_for_real(
    pg_server: PostgresServer, empty_database: str
) -> None:
    """Each revision the sandbox skips, upgraded and downgraded on a committed
    database: the schema (pg_dump) at its parent is the same before and after."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    skipped = set(skipped_in_the_sandbox(config))
    server, dbname = (
        make_url(pg_server.url("postgres", driver="postgresql")),
        make_url(empty_database).database,
    )
    assert dbname is not None
    engine = create_engine(empty_database, poolclass=NullPool)
    config.attributes["connection"] = engine
    try:
        for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions())):
            if script.revision in skipped:
                parent = normalised_schema(server, dbname)
                command.upgrade(config, script.revision)
                command.downgrade(config, str(script.down_revision))
                assert normalised_schema(server, dbname) == parent, script.revision
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
