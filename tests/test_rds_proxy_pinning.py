"""Everything the package sends on an application connection stays unpinned behind
RDS Proxy: recorded off the wire (libpq's trace, tests/pinning.py) while the API's
sync and async sessions, the replica router and the worker's protocol run through
PgBouncer in transaction mode with the package's default engines. The control sends
each statement that pins, through the same recorder, and every one is caught."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from sensa_db.database import make_async_engine, make_engine
from sensa_db.models import Course
from sensa_db.pipeline import (
    ClaimOutcome,
    claim_document,
    claim_next_document,
    content_consensus,
    record_pipeline_result,
    record_processing_failure,
)
from sensa_db.replicas import LearnerRouter
from sensa_db.request_context import async_learner_session, learner_session, set_transaction_user
from sensa_db.security import ADMIN_ROLE, APP_ROLE, WORKER_ROLE
from tests.isolation import Seeded, functions_read, orm_read, seed
from tests.pinning import (
    LARGEST_UNPINNED_STATEMENT_BYTES,
    SentStatement,
    StatementRecorder,
    parse_trace,
    pinning,
    pinning_reasons,
)
from tests.pipeline_world import PIPELINE_VERSION, pipeline_output, upload_as_admin
from tests.postgres import PostgresServer
from tests.rls import TEST_LOGINS, as_login

WORKER = "pinning-worker"


@pytest.fixture(scope="module")
def pooled(
    pg_server: PostgresServer, head_template: str, test_logins: None
) -> Iterator[tuple[str, Seeded]]:
    """A database at head with two learners, reached through PgBouncer by name."""
    with pg_server.database(template=head_template) as dbname:
        admin = create_engine(as_login(pg_server.url(dbname), ADMIN_ROLE), poolclass=NullPool)
        try:
            seeded = seed(admin, count=2)
        finally:
            admin.dispose()
        pg_server.wait_for_replay(pg_server.standby(), dbname)
        yield dbname, seeded
        pg_server.through_pgbouncer().close_pooled_connections(dbname)


def _through_pgbouncer(pg_server: PostgresServer, dbname: str, role: str) -> str:
    return pg_server.through_pgbouncer().url(dbname, user=TEST_LOGINS[role])


def _api_sync(engine: Engine, seeded: Seeded) -> None:
    """The API's synchronous requests: ORM reads and writes, the SQL functions, a
    statement that fails and is rolled back, a Core transaction, no learner at all."""
    learner, other = seeded.learners
    factory = sessionmaker(engine)
    with learner_session(factory, learner.user_id) as session:
        assert set(orm_read(session)) >= {learner.course_id}
        assert functions_read(session, other.user_id)
        session.execute(
            update(Course).where(Course.course_id == learner.course_id).values(name="Cells")
        )
        session.add(Course(user_id=learner.user_id, name=f"Pinning {uuid.uuid4()}"))
        session.commit()
        with pytest.raises(DBAPIError, match="division by zero"):
            session.execute(text("SELECT 1 / 0"))
        session.rollback()
        assert orm_read(session)
        session.commit()
    with engine.begin() as connection:
        set_transaction_user(connection, learner.user_id)
        assert connection.scalars(select(Course.course_id)).all()
    with Session(engine) as anonymous:
        assert anonymous.scalars(select(Course.course_id)).all() == []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
        assert autocommit.scalars(select(Course.course_id)).all() == []


async def _api_async(url: str, seeded: Seeded, recorder: StatementRecorder) -> None:
    learner, _ = seeded.learners
    engine = make_async_engine(url, pool_size=1, max_overflow=0)
    recorder.attach(engine.sync_engine)
    try:
        factory = async_sessionmaker(engine)
        for _ in range(2):  # the second checks the pooled connection out again
            async with async_learner_session(factory, learner.user_id) as session:
                assert (await session.scalars(select(Course.course_id))).all()
                await session.execute(
                    update(Course).where(Course.course_id == learner.course_id).values(name="Cell")
                )
                await session.commit()
    finally:
        await engine.dispose()


def _replica_router(primary: Engine, replica: Engine, seeded: Seeded) -> None:
    """A request that reads, writes, then reads its own write (replica or primary)."""
    learner, _ = seeded.learners
    request = LearnerRouter(sessionmaker(primary), sessionmaker(replica)).request(learner.user_id)
    with request.read() as session:
        assert session.scalars(select(Course.course_id)).all()
    with request.write() as session:
        session.execute(
            update(Course).where(Course.course_id == learner.course_id).values(name="Cell B")
        )
        session.commit()
    assert request.read_after is not None
    with request.read() as session:
        assert session.scalars(select(Course.name)).all()


def _worker(engine: Engine, admin: Engine) -> None:
    """The worker's protocol, as sensa_db.pipeline's docstring runs it."""
    done, failed, waiting = upload_as_admin(admin, f"pinning {uuid.uuid4()}", copies=3)
    with engine.connect() as connection:
        claim = claim_document(connection, done.document_id, WORKER, PIPELINE_VERSION)
        connection.commit()
        assert claim.outcome is ClaimOutcome.CLAIMED
        record_pipeline_result(connection, claim, pipeline_output("pinning"))
        connection.commit()
        claim = claim_document(connection, failed.document_id, WORKER, PIPELINE_VERSION)
        connection.commit()
        record_processing_failure(connection, claim, "the PDF is encrypted")
        connection.commit()
        assert claim_next_document(connection, WORKER, PIPELINE_VERSION) is not None
        connection.commit()
        content_consensus(connection)
        connection.commit()
    assert waiting.document_id


@pytest.fixture(scope="module")
def recorded(
    pg_server: PostgresServer,
    pooled: tuple[str, Seeded],
    tmp_path_factory: pytest.TempPathFactory,
) -> StatementRecorder:
    """Every statement the package's application sessions sent, through PgBouncer."""
    dbname, seeded = pooled
    recorder = StatementRecorder(tmp_path_factory.mktemp("pinning-trace"))
    # One pooled connection per engine, so that a request reuses what the last one
    # left: SQLAlchemy's reset on return and pre-ping are recorded too.
    api = make_engine(_through_pgbouncer(pg_server, dbname, APP_ROLE), pool_size=1, max_overflow=0)
    worker = make_engine(_through_pgbouncer(pg_server, dbname, WORKER_ROLE), pool_size=1)
    # PgBouncer fronts the primary only; readers are reached directly, as on AWS.
    replica = make_engine(as_login(pg_server.standby().url(dbname), APP_ROLE), pool_size=1)
    admin = create_engine(as_login(pg_server.url(dbname), ADMIN_ROLE), poolclass=NullPool)
    for engine in (api, worker, replica):
        recorder.attach(engine)
    try:
        for _ in range(2):
            _api_sync(api, seeded)
        asyncio.run(_api_async(_through_pgbouncer(pg_server, dbname, APP_ROLE), seeded, recorder))
        _replica_router(api, replica, seeded)
        _worker(worker, admin)
    finally:
        for engine in (api, worker, replica, admin):
            engine.dispose()
    return recorder


def test_no_application_statement_pins_a_session(recorded: StatementRecorder) -> None:
    sent = recorded.statements()
    assert pinning(sent) == {}
    # The recording saw the package's traffic: not a vacuous pass.
    texts = [statement.text for statement in sent]
    assert recorded.connections >= 4
    assert sum("set_current_user_id" in t for t in texts) >= 10
    for expected in (
        "public.claim_document(",
        "public.record_pipeline_result(",
        "public.record_processing_failure(",
        "public.claim_next_document(",
        "public.get_content_consensus(",
        "pg_current_wal_lsn()",
        "pg_last_wal_replay_lsn()",
        "search_courses(",
        "find_similar_documents(",
        "UPDATE courses SET name",
        "INSERT INTO courses",
        "SELECT 1 / 0",
        "ROLLBACK",
    ):
        assert any(expected in t for t in texts), expected
    # SQLAlchemy's pre-ping of a pooled connection (psycopg's empty query).
    assert ";" in texts


def test_no_statement_is_prepared_under_a_name(recorded: StatementRecorder) -> None:
    """RDS Proxy multiplexes protocol-level prepared statements; PgBouncer 1.18 cannot,
    and the engines prepare none (prepare_threshold=None)."""
    named = [s for s in recorded.statements() if s.prepared_as]
    assert named == []


# --- The control ---------------------------------------------------------------------

PINNING_STATEMENTS: list[tuple[str, str]] = [
    ("SET statement_timeout = '5s'", "session-level SET/RESET (statement_timeout)"),
    ("RESET ALL", "session-level SET/RESET (ALL)"),
    ("SET ROLE NONE", "session-level SET/RESET (role)"),
    ("SELECT set_config('application_name', 'pinned', false)", "set_config() not local"),
    ("SELECT set_config('application_name', 'pinned', %(is_local)s)", "set_config() not local"),
    ("PREPARE pinned AS SELECT 1", "SQL PREPARE"),
    ("EXECUTE pinned", "SQL EXECUTE"),
    ("DEALLOCATE pinned", "SQL DEALLOCATE"),
    ("DISCARD PLANS", "DISCARD"),
    ("CREATE TEMP TABLE pinned (id int) ON COMMIT DROP", "temporary table"),
    ("SELECT 1 AS id INTO TEMP TABLE pinned_too", "temporary table"),
    ("LISTEN pinned", "LISTEN"),
    ("UNLISTEN pinned", ""),
    ("DECLARE pinned CURSOR WITH HOLD FOR SELECT 1", "DECLARE (a cursor)"),
    ("CLOSE pinned", ""),
    ("SELECT pg_advisory_lock(42), pg_advisory_unlock(42)", "session-level advisory lock"),
    (f"SELECT 1 /* {'x' * LARGEST_UNPINNED_STATEMENT_BYTES} */", "statement text over 16 KB"),
]


def test_the_control_pins_and_every_pin_is_caught(
    pg_server: PostgresServer, pooled: tuple[str, Seeded], tmp_path: Path
) -> None:
    """Each pinning statement, sent through PgBouncer in one transaction, is named."""
    dbname, _ = pooled
    recorder = StatementRecorder(tmp_path)
    engine = make_engine(pg_server.through_pgbouncer().url(dbname), poolclass=NullPool)
    recorder.attach(engine)
    try:
        with engine.connect() as connection:
            for statement, _ in PINNING_STATEMENTS:
                bound = {"is_local": False} if "%(is_local)s" in statement else None
                connection.exec_driver_sql(statement, bound)
            connection.rollback()
    finally:
        engine.dispose()
    caught = pinning(recorder.statements())
    for statement, reason in PINNING_STATEMENTS:
        sent = statement.replace("%(is_local)s", "$1")
        if reason:
            assert any(r.startswith(reason) for r in caught.get(sent, [])), statement[:60]
        else:
            assert sent not in caught


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT public.set_current_user_id(CAST($1 AS uuid))",
        "SET LOCAL statement_timeout = '5s'",
        "SET TRANSACTION READ ONLY",
        "SELECT set_config('application_name', 'x', true)",
        "SELECT pg_advisory_xact_lock(42)",
        "BEGIN READ ONLY",
        "SELECT 'PREPARE, LISTEN and SET in a literal' AS harmless",
        "CREATE TABLE IF NOT EXISTS persistent (id int)",
    ],
)
def test_what_does_not_pin_is_not_reported(statement: str) -> None:
    assert pinning_reasons(statement) == []


def test_the_recorder_reads_a_multi_line_statement_and_its_prepared_name() -> None:
    trace = (
        'F\t10\tQuery\t "BEGIN"\n'
        'B\t10\tCommandComplete\t "BEGIN"\n'
        'F\t40\tParse\t "_pg3_0" "SELECT $1::text,\n 2" 1 NNNN\n'
        'F\t25\tBind\t "" "_pg3_0" 1 0 1 1 \'x\' 1 0\n'
    )
    assert list(parse_trace(trace)) == [
        SentStatement("BEGIN", "simple"),
        SentStatement("SELECT $1::text,\n 2", "extended", "_pg3_0"),
    ]
