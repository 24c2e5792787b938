"""Read-only work on a real hot standby (15/standby, made by scripts/setup.sh with
pg_basebackup and streaming from the primary): row-level security and every
read-only utility function for a learner, the same rows as the primary once
replayed, writes refused, replication lag, and the router's read-your-writes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from sensa_db.database import make_async_engine
from sensa_db.models import Course
from sensa_db.replicas import (
    AsyncLearnerRouter,
    LearnerRouter,
    NotAReplicaError,
    replication_lag,
)
from sensa_db.request_context import learner_session
from sensa_db.security import ADMIN_ROLE, APP_ROLE, WORKER_ROLE
from tests.factories import EMBEDDING, sha256_of
from tests.postgres import PostgresServer
from tests.rls import SeededLearner, as_login, seed_learner, sqlstate
from tests.test_functions_declared import IMMUTABLE, STABLE

READ_ONLY_IN_A_TRANSACTION = "25006"
VECTOR = str(EMBEDDING)

# Every read-only function the package declares, as a learner calls it.
LEARNER_CALLS: dict[str, str] = {
    "current_learner_id": "SELECT current_learner_id()",
    "cosine_similarity": "SELECT cosine_similarity(CAST(:v AS vector), CAST(:v AS vector))",
    "generate_cache_key": "SELECT generate_cache_key(:sha, '1.4.0')",
    "find_duplicate_document": "SELECT * FROM find_duplicate_document(:course, :sha)",
    "find_similar_documents": "SELECT * FROM find_similar_documents(CAST(:v AS vector), 10, 0.5)",
    "find_similar_keywords": (
        "SELECT * FROM find_similar_keywords(CAST(:v AS vector), 10, 0.5, :course)"
    ),
    "search_courses": "SELECT * FROM search_courses(:user, 'Cell')",
    "search_keywords": "SELECT * FROM search_keywords('mitochondria', :course)",
    "get_course_stats": "SELECT * FROM get_course_stats(:course)",
    "get_user_progress_summary": "SELECT * FROM get_user_progress_summary(:user, :course)",
    "get_learning_statistics": "SELECT * FROM get_learning_statistics(:user)",
    "get_learner_streak": "SELECT * FROM get_learner_streak(:user)",
    "get_feedback_summary": "SELECT * FROM get_feedback_summary(:course)",
    "check_search_arguments": "SELECT check_search_arguments('Cell', 20)",
    "check_similarity_search": "SELECT check_similarity_search(CAST(:v AS vector), 10)",
}
# The other read-only calls, each as a role that may make it: consensus reads
# every learner's rows, and an application checks the schema's revision at start-up.
PIPELINE_CALLS: dict[str, tuple[str, str]] = {
    "schema_revision": (APP_ROLE, "SELECT * FROM schema_revision('0')"),
    "get_pending_consensus": (ADMIN_ROLE, "SELECT * FROM get_pending_consensus(1)"),
    "get_content_consensus": (WORKER_ROLE, "SELECT * FROM get_content_consensus(1)"),
}
# The protocol's validators run only inside its definers, which write: never on a
# replica, and no login may call them.
PROTOCOL_HELPERS = {"check_claim_arguments", "check_pipeline_result_shape"}


@pytest.fixture(scope="module")
def replicated(
    pg_server: PostgresServer, head_template: str, test_logins: None
) -> Iterator[tuple[str, SeededLearner, SeededLearner]]:
    """Two learners' data on the primary, replayed on the standby."""
    with pg_server.database(template=head_template) as dbname:
        admin = create_engine(as_login(pg_server.url(dbname), ADMIN_ROLE), poolclass=NullPool)
        with Session(admin) as session:
            first, second = seed_learner(session), seed_learner(session)
            session.commit()
        admin.dispose()
        pg_server.wait_for_replay(pg_server.standby(), dbname)
        yield dbname, first, second


def _engine(server: PostgresServer, dbname: str, role: str) -> Engine:
    return create_engine(as_login(server.url(dbname), role), poolclass=NullPool)


@pytest.fixture
def engines(
    pg_server: PostgresServer, replicated: tuple[str, SeededLearner, SeededLearner]
) -> Iterator[tuple[Engine, Engine]]:
    """sensa_app on the primary and on the standby."""
    dbname = replicated[0]
    primary, standby = (
        _engine(pg_server, dbname, APP_ROLE),
        _engine(pg_server.standby(), dbname, APP_ROLE),
    )
    yield primary, standby
    primary.dispose()
    standby.dispose()


def _call(engine: Engine, learner: SeededLearner, sql: str) -> list[tuple[Any, ...]]:
    parameters = {
        "v": VECTOR,
        "sha": sha256_of("chapter one"),
        "course": learner.course_id,
        "user": learner.user_id,
    }
    with learner_session(sessionmaker(engine), learner.user_id) as session:
        return [tuple(row) for row in session.execute(text(sql), parameters)]


def test_the_list_covers_every_read_only_function() -> None:
    assert set(LEARNER_CALLS) | set(PIPELINE_CALLS) | PROTOCOL_HELPERS == (STABLE | IMMUTABLE)


@pytest.mark.parametrize("name", sorted(LEARNER_CALLS))
def test_a_learners_read_only_functions_answer_on_the_standby_as_on_the_primary(
    engines: tuple[Engine, Engine],
    replicated: tuple[str, SeededLearner, SeededLearner],
    name: str,
) -> None:
    primary, standby = engines
    _, first, _ = replicated
    on_standby = _call(standby, first, LEARNER_CALLS[name])
    assert on_standby == _call(primary, first, LEARNER_CALLS[name])
    assert on_standby, f"{name} returned nothing: the comparison would prove nothing"


def test_row_level_security_on_the_standby(
    engines: tuple[Engine, Engine], replicated: tuple[str, SeededLearner, SeededLearner]
) -> None:
    _, standby = engines
    _, first, second = replicated
    with learner_session(sessionmaker(standby), first.user_id) as session:
        assert set(session.scalars(select(Course.course_id))) == {first.course_id}
    with Session(standby) as anonymous:
        assert list(anonymous.scalars(select(Course.course_id))) == []
        # A session-level SET names no one there either.
        anonymous.execute(text(f"SET app.current_user_id = '{second.user_id}'"))
        assert list(anonymous.scalars(select(Course.course_id))) == []


@pytest.mark.parametrize("name", sorted(PIPELINE_CALLS))
def test_the_pipelines_read_only_calls_run_on_the_standby(
    pg_server: PostgresServer, replicated: tuple[str, SeededLearner, SeededLearner], name: str
) -> None:
    dbname = replicated[0]
    role, sql = PIPELINE_CALLS[name]
    results = []
    for server in (pg_server, pg_server.standby()):
        engine = _engine(server, dbname, role)
        with engine.connect() as conn:
            results.append(list(conn.execute(text(sql))))
        engine.dispose()
    assert results[0] == results[1]


def test_a_write_on_the_standby_fails_with_a_clear_error(
    engines: tuple[Engine, Engine], replicated: tuple[str, SeededLearner, SeededLearner]
) -> None:
    _, standby = engines
    _, first, _ = replicated
    with learner_session(sessionmaker(standby), first.user_id) as session:
        session.add(Course(user_id=first.user_id, name="Written to a replica"))
        with pytest.raises(DBAPIError) as caught:
            session.flush()
    assert sqlstate(caught.value) == READ_ONLY_IN_A_TRANSACTION
    assert "cannot execute INSERT in a read-only transaction" in str(caught.value.orig)


def test_replication_lag_is_observable_on_a_replica_only(engines: tuple[Engine, Engine]) -> None:
    primary, standby = engines
    with standby.connect() as conn:
        lag = replication_lag(conn)
    assert lag.bytes_received_not_replayed >= 0
    with primary.connect() as conn, pytest.raises(NotAReplicaError, match="not a replica"):
        replication_lag(conn)


def _on_replica(session: Session) -> bool:
    return bool(session.scalar(text("SELECT pg_is_in_recovery()")))


def test_the_router_reads_from_the_replica_unless_it_lags_behind_a_write(
    engines: tuple[Engine, Engine], replicated: tuple[str, SeededLearner, SeededLearner]
) -> None:
    primary, standby = engines
    _, first, _ = replicated
    router = LearnerRouter(sessionmaker(primary), sessionmaker(standby))
    with router.request(first.user_id).read() as session:
        assert _on_replica(session)
    # A position the replica has not replayed: the read goes to the primary, read-only.
    behind = router.request(first.user_id, read_after="FFFFFFFF/0")
    with behind.read() as session:
        assert not _on_replica(session)
        session.add(Course(user_id=first.user_id, name="Written in a read"))
        with pytest.raises(DBAPIError) as caught:
            session.flush()
        assert sqlstate(caught.value) == READ_ONLY_IN_A_TRANSACTION


def test_the_router_reads_its_own_writes(
    engines: tuple[Engine, Engine], replicated: tuple[str, SeededLearner, SeededLearner]
) -> None:
    primary, standby = engines
    _, first, _ = replicated
    request = LearnerRouter(sessionmaker(primary), sessionmaker(standby)).request(first.user_id)
    name = f"Written {uuid.uuid4()}"
    with request.write() as session:
        session.add(Course(user_id=first.user_id, name=name))
        session.commit()
    assert request.read_after is not None
    with request.read() as session:
        assert session.scalar(select(Course.name).where(Course.name == name)) == name
    with primary.begin() as conn:  # leave the module's data as it was
        conn.execute(text("SELECT set_current_user_id(:u)"), {"u": first.user_id})
        conn.execute(text("DELETE FROM courses WHERE name = :n"), {"n": name})


@pytest.fixture
def async_factories(
    pg_server: PostgresServer, replicated: tuple[str, SeededLearner, SeededLearner]
) -> tuple[str, str]:
    """URLs of sensa_app on the primary and on the standby, for engines made inside a loop."""
    dbname = replicated[0]
    return (
        as_login(pg_server.url(dbname), APP_ROLE),
        as_login(pg_server.standby().url(dbname), APP_ROLE),
    )


async def _on_replica_async(session: AsyncSession) -> bool:
    return bool(await session.scalar(text("SELECT pg_is_in_recovery()")))


def test_the_async_router_reads_from_the_replica_unless_it_lags_behind_a_write(
    async_factories: tuple[str, str], replicated: tuple[str, SeededLearner, SeededLearner]
) -> None:
    _, first, _ = replicated

    async def scenario() -> None:
        primary, standby = (make_async_engine(url, poolclass=NullPool) for url in async_factories)
        router = AsyncLearnerRouter(async_sessionmaker(primary), async_sessionmaker(standby))
        try:
            async with router.request(first.user_id).read() as session:
                assert await _on_replica_async(session)
                assert set(await session.scalars(select(Course.course_id))) == {first.course_id}
            behind = router.request(first.user_id, read_after="FFFFFFFF/0")
            async with behind.read() as session:
                assert not await _on_replica_async(session)
                session.add(Course(user_id=first.user_id, name="Written in a read"))
                with pytest.raises(DBAPIError) as caught:
                    await session.flush()
                assert sqlstate(caught.value) == READ_ONLY_IN_A_TRANSACTION
        finally:
            await primary.dispose()
            await standby.dispose()

    asyncio.run(scenario())


def test_the_async_router_reads_its_own_writes(
    async_factories: tuple[str, str], replicated: tuple[str, SeededLearner, SeededLearner]
) -> None:
    _, first, _ = replicated
    name = f"Written {uuid.uuid4()}"

    async def scenario() -> None:
        primary, standby = (make_async_engine(url, poolclass=NullPool) for url in async_factories)
        router = AsyncLearnerRouter(async_sessionmaker(primary), async_sessionmaker(standby))
        request = router.request(first.user_id)
        try:
            async with request.write() as session:
                session.add(Course(user_id=first.user_id, name=name))
                await session.commit()
            assert request.read_after is not None
            async with request.read() as session:
                found = await session.scalar(select(Course.name).where(Course.name == name))
                assert found == name
            # The next request carries the position, as a cookie would.
            carried = router.request(first.user_id, read_after=request.read_after)
            async with carried.read() as session:
                found = await session.scalar(select(Course.name).where(Course.name == name))
                assert found == name
            async with request.write() as session:  # leave the module's data as it was
                await session.execute(delete(Course).where(Course.name == name))
                await session.commit()
        finally:
            await primary.dispose()
            await standby.dispose()

    asyncio.run(scenario())


def test_each_router_refuses_the_other_kind_of_factory(engines: tuple[Engine, Engine]) -> None:
    primary, _ = engines
    with pytest.raises(TypeError, match="use AsyncLearnerRouter"):
        LearnerRouter(async_sessionmaker())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="use LearnerRouter"):
        AsyncLearnerRouter(async_sessionmaker(), sessionmaker(primary))  # type: ignore[arg-type]
