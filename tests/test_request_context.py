"""The request context on pooled connections, through sensa_db.request_context, with
psycopg 3 and psycopg2: each transaction acts for its learner and no one else's."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, func, make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from sensa_db.models import Course
from sensa_db.request_context import learner_session, set_transaction_user
from sensa_db.security import APP_ROLE, CONTEXT_SETTING
from tests.rls import SeededLearner, as_login, visible

DRIVERS = ["postgresql+psycopg", "postgresql+psycopg2"]


@pytest.fixture(params=DRIVERS)
def pooled_app_engine(
    request: pytest.FixtureRequest, shared_database: str, test_logins: None
) -> Iterator[Engine]:
    """One physical connection as sensa_app, reused by every transaction."""
    url = make_url(as_login(shared_database, APP_ROLE)).set(drivername=request.param)
    engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(session: Session) -> int:
    pid: int = session.scalar(select(func.pg_backend_pid()))  # type: ignore[assignment]
    return pid


def test_each_transaction_of_a_learner_session_acts_for_that_learner(
    pooled_app_engine: Engine, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners
    factory = sessionmaker(pooled_app_engine)
    with learner_session(factory, first.user_id) as session:
        assert set(session.scalars(select(Course.course_id))) == {first.course_id}
        session.commit()
        # A new transaction on the same session: named again, not left empty.
        assert set(session.scalars(select(Course.course_id))) == {first.course_id}
        session.rollback()
        assert set(session.scalars(select(Course.course_id))) == {first.course_id}


def test_learners_on_one_pooled_connection_never_see_each_other(
    pooled_app_engine: Engine, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, second = learners
    factory = sessionmaker(pooled_app_engine)
    with learner_session(factory, first.user_id) as session:
        first_pid = _backend_pid(session)
        assert set(session.scalars(select(Course.course_id))) == {first.course_id}
        session.commit()
    with learner_session(factory, second.user_id) as session:
        assert _backend_pid(session) == first_pid
        assert set(session.scalars(select(Course.course_id))) == {second.course_id}
        session.commit()
    with factory() as anonymous:
        assert _backend_pid(anonymous) == first_pid
        assert anonymous.scalar(text(f"SELECT current_setting('{CONTEXT_SETTING}', true)")) == ""
        assert list(anonymous.scalars(select(Course.course_id))) == []


def test_a_failed_transaction_leaves_no_context_behind(
    pooled_app_engine: Engine, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners
    factory = sessionmaker(pooled_app_engine)
    with learner_session(factory, first.user_id) as session:
        first_pid = _backend_pid(session)
        with pytest.raises(DBAPIError):
            session.execute(text("SELECT 1 / 0"))
        session.rollback()
    with factory() as anonymous:
        assert _backend_pid(anonymous) == first_pid
        assert list(anonymous.scalars(select(Course.course_id))) == []


def test_the_core_helper_sets_and_clears_the_context_in_the_transaction(
    pooled_app_engine: Engine, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners
    with pooled_app_engine.begin() as conn:
        set_transaction_user(conn, first.user_id)
        assert visible(conn, "courses") == {first.course_id}
        set_transaction_user(conn, None)
        assert visible(conn, "courses") == frozenset()
    with pooled_app_engine.begin() as conn:
        set_transaction_user(conn, first.user_id)
    with pooled_app_engine.begin() as conn:
        assert visible(conn, "courses") == frozenset()


def test_set_current_user_id_outside_a_transaction_lasts_one_statement(
    pooled_app_engine: Engine, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners
    with pooled_app_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text("SELECT public.set_current_user_id(CAST(:id AS uuid))"), {"id": str(first.user_id)}
        )
        assert visible(conn, "courses") == frozenset()


def _replies(engine: Engine, transaction: Callable[[], None]) -> int:
    """ReadyForQuery messages (one per round trip) the server sends during ``transaction``,
    from libpq's protocol trace of the pool's one connection."""
    with engine.connect() as conn:
        pgconn = conn.connection.driver_connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        try:
            transaction()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return sum("\tReadyForQuery\t" in line for line in trace)


def test_naming_the_learner_costs_one_round_trip(
    shared_database: str, test_logins: None, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners
    engine = create_engine(
        as_login(shared_database, APP_ROLE), poolclass=QueuePool, pool_size=1, max_overflow=0
    )
    factory = sessionmaker(engine)

    def anonymous() -> None:
        with factory() as session:
            session.scalars(select(Course.course_id)).all()
            session.commit()

    def named() -> None:
        with learner_session(factory, first.user_id) as session:
            session.scalars(select(Course.course_id)).all()
            session.commit()

    try:
        plain = _replies(engine, anonymous)
        assert plain == 3  # BEGIN, the query, COMMIT
        assert _replies(engine, named) == plain + 1
    finally:
        engine.dispose()
