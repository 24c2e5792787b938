"""pytest-alembic's built-in checks, as the floor every revision stands on."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest
from alembic.migration import MigrationContext as AlembicMigrationContext
from alembic_utils import replaceable_entity
from alembic_utils.pg_function import PGFunction
from alembic_utils.replaceable_entity import ReplaceableEntity
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
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


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
    # Below the revision that creates a table, alembic_utils cannot simulate the
    # policies and triggers declared on it (it creates each one to compare it).
    # Compare, at each revision, those whose table exists there.
    solve_resolution_order = replaceable_entity.solve_resolution_order

    def solve_for_existing_tables(
        session: Session, entities: list[ReplaceableEntity]
    ) -> list[ReplaceableEntity]:
        def table_exists(entity: ReplaceableEntity) -> bool:
            table = getattr(entity, "on_entity", None)
            if table is None:
                return True
            return session.scalar(text("SELECT to_regclass(:table)"), {"table": table}) is not None

        return solve_resolution_order(session, [e for e in entities if table_exists(e)])

    monkeypatch.setattr(replaceable_entity, "solve_resolution_order", solve_for_existing_tables)
    # alembic_utils simulates each entity after every entity created before it,
    # quadratic in the number of policies. Only functions can be depended on
    # (a trigger calls one, a policy may): simulate those alone first.
    simulate_entity = replaceable_entity.simulate_entity

    def simulate_after_functions(
        session: Session,
        entity: ReplaceableEntity,
        dependencies: list[ReplaceableEntity] | None = None,
    ) -> AbstractContextManager[Session]:
        functions = [d for d in dependencies or [] if isinstance(d, PGFunction)]
        return simulate_entity(session, entity, functions)  # type: ignore[no-any-return]

    monkeypatch.setattr(replaceable_entity, "simulate_entity", simulate_after_functions)
    _downgrade_leaves_no_trace(alembic_runner)
