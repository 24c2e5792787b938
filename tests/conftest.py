from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from tests.postgres import EXTENSIONS_TEMPLATE, PostgresServer, upgrade


@pytest.fixture(scope="session")
def pg_server() -> PostgresServer:
    server = PostgresServer.from_environment()
    reason = server.unreachable_reason()
    if reason is not None:
        pytest.exit(reason, returncode=2)
    return server


@pytest.fixture(scope="session")
def head_template(pg_server: PostgresServer) -> Iterator[str]:
    """A database built by ``alembic upgrade head`` (never create_all), cloned by the tests."""
    with pg_server.database(template=EXTENSIONS_TEMPLATE, as_template=True) as dbname:
        upgrade(pg_server.url(dbname))
        yield dbname


@pytest.fixture
def empty_database(pg_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh database holding only the extensions, as RDS would after set-up."""
    with pg_server.database(template=EXTENSIONS_TEMPLATE) as dbname:
        yield pg_server.url(dbname)


@pytest.fixture
def migrated_database(pg_server: PostgresServer, head_template: str) -> Iterator[str]:
    """URL of a fresh database at head, for tests that commit."""
    with pg_server.database(template=head_template) as dbname:
        yield pg_server.url(dbname)


@pytest.fixture(scope="module")
def shared_database(pg_server: PostgresServer, head_template: str) -> Iterator[str]:
    """One database at head per test module, for tests that roll back."""
    with pg_server.database(template=head_template) as dbname:
        yield pg_server.url(dbname)


@pytest.fixture(scope="module")
def shared_engine(shared_database: str) -> Iterator[Engine]:
    engine = create_engine(shared_database, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(shared_engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with shared_engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session joined to the rolled-back transaction; flushes use savepoints."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as orm_session:
        yield orm_session
