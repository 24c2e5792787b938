"""pytest-alembic's built-in checks, as the floor every revision stands on."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import pytest
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
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from sensa_db.sql_entities import ENTITY_TYPES

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
    # The test runs every cycle in a savepoint it rolls back; a revision with an
    # autocommit_block (a batched backfill, a concurrent index build) must
    # commit as it goes and cannot run there. Those are skipped here, and
    # test_up_down_consistency and their data tests run them for real.
    committing = [
        script.revision
        for script in ScriptDirectory.from_config(
            alembic_runner.command_executor.alembic_config
        ).walk_revisions()
        if "autocommit_block()" in inspect.getsource(script.module)
    ]
    assert committing, "no revision commits as it goes: drop this skip"
    _downgrade_leaves_no_trace(
        dataclasses.replace(
            alembic_runner,
            config=dataclasses.replace(alembic_runner.config, skip_revisions=committing),
        )
    )
