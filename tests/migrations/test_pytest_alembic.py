"""pytest-alembic's built-in checks, as the floor every revision stands on."""

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
from pytest_alembic.tests.experimental import test_downgrade_leaves_no_trace

__all__ = [
    "test_downgrade_leaves_no_trace",
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


def test_all_models_register_on_metadata(alembic_runner: MigrationContext) -> None:
    _all_models_register_on_metadata(alembic_runner, "sensa_db.models")
