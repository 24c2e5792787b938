from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from sensa_db.security import ADMIN_ROLE, APP_ROLE, WORKER_ROLE
from tests.postgres import EXTENSIONS_TEMPLATE, PostgresServer, upgrade
from tests.rls import SeededLearner, as_login, ensure_test_logins, seed_learner


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


@pytest.fixture(scope="session")
def test_logins(pg_server: PostgresServer, head_template: str) -> None:
    """Login members of the roles the revisions create (tests/rls.py)."""
    ensure_test_logins(pg_server)


def _engine_as(url: str, role: str) -> Engine:
    return create_engine(as_login(url, role), poolclass=NullPool)


@pytest.fixture(scope="module")
def shared_engine(shared_database: str, test_logins: None) -> Iterator[Engine]:
    """Connects as admin_role: row-level security is FORCEd, so the owner sees no rows."""
    engine = _engine_as(shared_database, ADMIN_ROLE)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def app_engine(shared_database: str, test_logins: None) -> Iterator[Engine]:
    """Connects as the API does: a member of sensa_app."""
    engine = _engine_as(shared_database, APP_ROLE)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def worker_engine(shared_database: str, test_logins: None) -> Iterator[Engine]:
    engine = _engine_as(shared_database, WORKER_ROLE)
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
def owner_connection(shared_database: str) -> Iterator[Connection]:
    """The migrating owner inside a rolled-back transaction, acting as admin_role for
    data (FORCEd row-level security hides every row from the owner itself); tests
    that need the owner's own rights (DDL, index maintenance) RESET ROLE for them.
    The membership that SET ROLE needs is granted inside the transaction, so it
    is rolled back with it: a standing membership would put the owner under
    admin_role's policies, undoing FORCE."""
    engine = create_engine(shared_database, poolclass=NullPool)
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(text(f"GRANT {ADMIN_ROLE} TO CURRENT_USER"))
        conn.execute(text(f"SET LOCAL ROLE {ADMIN_ROLE}"))
        try:
            yield conn
        finally:
            transaction.rollback()
    engine.dispose()


@pytest.fixture
def owner_session(owner_connection: Connection) -> Iterator[Session]:
    """An ORM session on owner_connection; its commits release savepoints, its
    objects stay loaded after them (the transaction is rolled back at the end)."""
    with Session(
        bind=owner_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as orm_session:
        yield orm_session


@pytest.fixture
def app_connection(app_engine: Engine) -> Iterator[Connection]:
    """A connection as sensa_app inside a transaction that is rolled back after the test."""
    with app_engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@pytest.fixture(scope="module")
def learners(shared_engine: Engine) -> tuple[SeededLearner, SeededLearner]:
    """Two learners' whole graphs, committed by an admin into the module's database."""
    with Session(shared_engine) as admin_session:
        first, second = seed_learner(admin_session), seed_learner(admin_session)
        admin_session.commit()
    return first, second


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session joined to the rolled-back transaction; flushes use savepoints."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as orm_session:
        yield orm_session
