from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_alembic.config import Config as PytestAlembicConfig
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from tests.postgres import REPO_ROOT


@pytest.fixture
def alembic_config() -> PytestAlembicConfig:
    return PytestAlembicConfig(config_options={"file": str(REPO_ROOT / "alembic.ini")})


@pytest.fixture
def alembic_engine(empty_database: str) -> Iterator[Engine]:
    engine = create_engine(empty_database, poolclass=NullPool)
    yield engine
    engine.dispose()
