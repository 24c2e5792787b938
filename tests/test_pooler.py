"""The request context through PgBouncer in transaction mode (scripts/setup.sh starts
it), with the package's default engine settings: no learner ever sees another's
rows, sync or async; a session-level SET, which leaked before revision
4fd31078d7ea, is caught by the same detector and is harmless at head; and
migrations refuse to run through the pooler."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from sensa_db.database import make_async_engine, make_engine
from sensa_db.models import Course, Keyword
from sensa_db.request_context import async_learner_session, learner_session
from sensa_db.security import ADMIN_ROLE, APP_ROLE
from tests.isolation import (
    ANONYMOUS_READ,
    CLIENTS,
    CONTROL_KINDS,
    EMBEDDING_LITERAL,
    PACKAGE_KINDS,
    SEARCH_COURSES,
    SIMILAR_DOCUMENTS,
    TRANSACTIONS,
    Detector,
    Kind,
    Seeded,
    Workload,
    functions_read,
    orm_read,
    seed,
)
from tests.postgres import EXTENSIONS_TEMPLATE, PostgresServer, alembic_config, upgrade
from tests.rls import TEST_LOGINS, as_login

# Long: left out of the fast loop (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow

# The revision that made the context per transaction only (public.current_learner_id).
CONTEXT_REVISION = "4fd31078d7ea"
# A bound on wall time, not a measurement: a run this slow has hung.
DEADLINE_SECONDS = 600


def _seed(pg_server: PostgresServer, dbname: str) -> Seeded:
    admin = create_engine(as_login(pg_server.url(dbname), ADMIN_ROLE), poolclass=NullPool)
    try:
        return seed(admin)
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def pooled(
    pg_server: PostgresServer, head_template: str, test_logins: None
) -> Iterator[tuple[str, Seeded]]:
    """A database at head with learners' data, reached through PgBouncer by name."""
    with pg_server.database(template=head_template) as dbname:
        yield dbname, _seed(pg_server, dbname)
        pg_server.through_pgbouncer().close_pooled_connections(dbname)


@pytest.fixture(scope="module")
def before_the_context_revision(
    pg_server: PostgresServer, test_logins: None
) -> Iterator[tuple[str, Seeded]]:
    """The same data at the revision before 4fd31078d7ea: policies read the setting itself."""
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(CONTEXT_REVISION)
    assert previous is not None
    assert isinstance(previous.down_revision, str)
    with pg_server.database(template=EXTENSIONS_TEMPLATE) as dbname:
        upgrade(pg_server.url(dbname), previous.down_revision)
        yield dbname, _seed(pg_server, dbname)
        pg_server.through_pgbouncer().close_pooled_connections(dbname)


def _app_url(pg_server: PostgresServer, dbname: str) -> str:
    return pg_server.through_pgbouncer().url(dbname, user=TEST_LOGINS[APP_ROLE])


def _sync_client(engine: Engine, workload: Workload, client: int) -> None:
    factory = sessionmaker(engine)
    detector = workload.detector
    for kind, learner, other in workload.transactions(client):
        if kind in (Kind.ORM_READ, Kind.FUNCTIONS, Kind.FAILS_MIDWAY):
            with learner_session(factory, learner.user_id) as session:
                if kind is Kind.FUNCTIONS:
                    rows = functions_read(session, other.user_id)
                else:
                    if kind is Kind.FAILS_MIDWAY:
                        with pytest.raises(DBAPIError, match="division by zero"):
                            session.execute(text("SELECT 1 / 0"))
                        session.rollback()
                    rows = orm_read(session)
                session.commit()
            detector.check(kind, learner.user_id, rows)
        elif kind is Kind.ANONYMOUS:
            with Session(engine) as session:
                rows = list(session.scalars(ANONYMOUS_READ))
                session.commit()
            detector.check(kind, None, rows)
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                named = None
                if kind is Kind.SESSION_SET:
                    named = learner.user_id
                    conn.execute(text(f"SET app.current_user_id = '{named}'"))
                rows = list(conn.scalars(ANONYMOUS_READ))
            detector.check(kind, named, rows)


def _run_sync(url: str, seeded: Seeded, kinds: tuple[Kind, ...], transactions: int) -> Detector:
    workload = Workload(seeded, Detector(seeded.owners), kinds, transactions // CLIENTS)
    # One engine per client, as 32 API processes would have, each with make_engine's defaults.
    engines = [make_engine(url) for _ in range(CLIENTS)]
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [
                pool.submit(_sync_client, engine, workload, i) for i, engine in enumerate(engines)
            ]
            for future in futures:
                future.result(timeout=DEADLINE_SECONDS)
    finally:
        for engine in engines:
            engine.dispose()
    return workload.detector


async def _async_client(engine: AsyncEngine, workload: Workload, client: int) -> None:
    factory = async_sessionmaker(engine)
    detector = workload.detector
    for kind, learner, other in workload.transactions(client):
        if kind in (Kind.ORM_READ, Kind.FUNCTIONS, Kind.FAILS_MIDWAY):
            async with async_learner_session(factory, learner.user_id) as session:
                if kind is Kind.FUNCTIONS:
                    rows = [
                        *await session.scalars(SEARCH_COURSES, {"other": str(other.user_id)}),
                        *await session.scalars(SIMILAR_DOCUMENTS, {"embedding": EMBEDDING_LITERAL}),
                    ]
                else:
                    if kind is Kind.FAILS_MIDWAY:
                        with pytest.raises(DBAPIError, match="division by zero"):
                            await session.execute(text("SELECT 1 / 0"))
                        await session.rollback()
                    rows = [
                        *await session.scalars(select(Course.course_id)),
                        *await session.scalars(select(Keyword.keyword_id)),
                    ]
                await session.commit()
            detector.check(kind, learner.user_id, rows)
        elif kind is Kind.ANONYMOUS:
            async with factory() as session:
                rows = list(await session.scalars(ANONYMOUS_READ))
                await session.commit()
            detector.check(kind, None, rows)
        else:
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                rows = list(await autocommit.scalars(ANONYMOUS_READ))
            detector.check(kind, None, rows)


async def _run_async(url: str, seeded: Seeded, transactions: int) -> Detector:
    workload = Workload(seeded, Detector(seeded.owners), PACKAGE_KINDS, transactions // CLIENTS)
    engines = [make_async_engine(url) for _ in range(CLIENTS)]
    try:
        clients = (_async_client(engine, workload, i) for i, engine in enumerate(engines))
        await asyncio.wait_for(asyncio.gather(*clients), DEADLINE_SECONDS)
    finally:
        for engine in engines:
            await engine.dispose()
    return workload.detector


def _report(label: str, detector: Detector, started: float) -> None:
    print(
        f"{label}: {detector.transactions} transactions, {detector.rows} rows checked,"
        f" {len(detector.leaks)} leaks, {time.monotonic() - started:.1f} s"
    )


def test_no_learner_sees_another_through_pgbouncer(
    pg_server: PostgresServer, pooled: tuple[str, Seeded]
) -> None:
    dbname, seeded = pooled
    started = time.monotonic()
    detector = _run_sync(_app_url(pg_server, dbname), seeded, PACKAGE_KINDS, TRANSACTIONS)
    _report("sync through PgBouncer", detector, started)
    assert detector.transactions >= 10_000
    assert detector.rows > detector.transactions  # learners did see their own rows
    assert detector.leaks == []


def test_no_learner_sees_another_through_pgbouncer_async(
    pg_server: PostgresServer, pooled: tuple[str, Seeded]
) -> None:
    dbname, seeded = pooled
    started = time.monotonic()
    detector = asyncio.run(_run_async(_app_url(pg_server, dbname), seeded, TRANSACTIONS))
    _report("async through PgBouncer", detector, started)
    assert detector.transactions >= 10_000
    assert detector.rows > detector.transactions
    assert detector.leaks == []


CONTROL_TRANSACTIONS = 3_200


def test_a_session_level_set_is_caught_leaking_before_the_context_revision(
    pg_server: PostgresServer, before_the_context_revision: tuple[str, Seeded]
) -> None:
    """The control: the detector above does catch a leak when there is one."""
    dbname, seeded = before_the_context_revision
    started = time.monotonic()
    detector = _run_sync(_app_url(pg_server, dbname), seeded, CONTROL_KINDS, CONTROL_TRANSACTIONS)
    _report("control (session-level SET, previous revision)", detector, started)
    assert detector.leaks != []


def test_a_session_level_set_is_harmless_at_head(
    pg_server: PostgresServer, pooled: tuple[str, Seeded]
) -> None:
    dbname, seeded = pooled
    started = time.monotonic()
    detector = _run_sync(_app_url(pg_server, dbname), seeded, CONTROL_KINDS, CONTROL_TRANSACTIONS)
    _report("control (session-level SET, head)", detector, started)
    assert detector.transactions == CONTROL_TRANSACTIONS
    assert detector.leaks == []


def test_make_engine_prepares_no_statement_on_the_server(
    pg_server: PostgresServer, pooled: tuple[str, Seeded]
) -> None:
    dbname, seeded = pooled
    learner = seeded.learners[0]
    engine = make_engine(pg_server.url(dbname, user=TEST_LOGINS[APP_ROLE]))
    try:
        with learner_session(sessionmaker(engine), learner.user_id) as session:
            for _ in range(10):  # twice psycopg's default threshold of five
                assert set(orm_read(session)) == {learner.course_id, *learner.keyword_ids}
            prepared = session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        assert prepared == 0
    finally:
        engine.dispose()
    # The control: psycopg's own default does prepare them.
    preparing = make_engine(
        pg_server.url(dbname, user=TEST_LOGINS[APP_ROLE]), connect_args={"prepare_threshold": 5}
    )
    try:
        with learner_session(sessionmaker(preparing), learner.user_id) as session:
            for _ in range(10):
                orm_read(session)
            assert session.scalar(text("SELECT count(*) FROM pg_prepared_statements")) > 0
    finally:
        preparing.dispose()


def test_migrations_refuse_to_run_through_pgbouncer(
    pg_server: PostgresServer, empty_database: str
) -> None:
    dbname = empty_database.rsplit("/", 1)[1]
    through_pooler = create_engine(pg_server.through_pgbouncer().url(dbname), poolclass=NullPool)
    try:
        with pytest.raises(SystemExit, match=r"pooler .* is in between.*Nothing was applied"):
            command.upgrade(alembic_config(through_pooler), "head")
    finally:
        through_pooler.dispose()
        pg_server.through_pgbouncer().close_pooled_connections(dbname)
    direct = create_engine(empty_database, poolclass=NullPool)
    try:
        with direct.connect() as conn:
            assert conn.scalar(text("SELECT to_regclass('public.alembic_version')")) is None
            # The refusal released the lock: no server session still holds it.
            held = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
            assert held == 0
    finally:
        direct.dispose()
