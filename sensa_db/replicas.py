"""Read-only work on a read replica, everything else on the primary.

The replica (an RDS read replica, or a hot standby streaming from the primary)
is configured like the primary, from the environment: ``SENSA_DB_REPLICA_URL``,
or ``SENSA_DB_REPLICA_HOST`` with the primary's secret or IAM user
(``sensa_db.database``). Row-level security and the read-only utility
functions work there as on the primary: the learner is named per transaction
without a write. A write sent to a replica fails with PostgreSQL's
``cannot execute ... in a read-only transaction`` (SQLSTATE 25006).

Per request, :class:`LearnerRouter` hands out learner sessions::

    router = LearnerRouter(sessionmaker(make_engine()), replica_sessions)
    request = router.request(current_user.id, read_after=cookie.get("lsn"))
    with request.write() as session:       # on the primary
        ...; session.commit()
    with request.read() as session:        # on the replica once it has replayed the write
        stats = session.execute(select(func.get_course_stats(course_id))).all()
    cookie["lsn"] = request.read_after     # read-your-writes across requests too

On SQLAlchemy's asyncio extension, :class:`AsyncLearnerRouter` does the same
over ``async_sessionmaker`` factories (``make_async_engine``,
``make_async_replica_engine``)::

    router = AsyncLearnerRouter(async_sessionmaker(primary), async_sessionmaker(replica))
    request = router.request(current_user.id, read_after=cookie.get("lsn"))
    async with request.write() as session:
        ...; await session.commit()
    async with request.read() as session:
        stats = (await session.execute(select(func.get_course_stats(course_id)))).all()

Read-your-writes: after a write, :attr:`LearnerRequest.read_after` holds the
primary's WAL position; :meth:`LearnerRequest.read` uses the replica only when
its replay has reached it, and the primary (read-only) otherwise. Replication
lag is observable with :func:`replication_lag`, or the query in
docs/OPERATIONS.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from sensa_db.request_context import async_learner_session, learner_session

# Where the primary's WAL stands once a commit has returned (it is flushed).
_PRIMARY_POSITION = text("SELECT CAST(pg_catalog.pg_current_wal_lsn() AS text)")
_REPLAYED = text(
    "SELECT coalesce(pg_catalog.pg_last_wal_replay_lsn() >= CAST(:position AS pg_lsn), false)"
)
REPLICATION_LAG_QUERY = text(
    """
    SELECT pg_catalog.pg_is_in_recovery() AS is_replica,
           pg_catalog.pg_wal_lsn_diff(
               pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn()
           ) AS bytes_received_not_replayed,
           EXTRACT(epoch FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())
               AS seconds_since_last_replayed_commit
    """
)


class NotAReplicaError(RuntimeError):
    """Replication lag was asked of a server that is not a replica."""


@dataclass(frozen=True)
class ReplicationLag:
    """How far a replica is behind: WAL received but not yet applied, and the age of the
    last commit it applied (which also grows while the primary is idle)."""

    bytes_received_not_replayed: int
    seconds_since_last_replayed_commit: float | None


def replication_lag(connection: Connection) -> ReplicationLag:
    """The lag of the replica ``connection`` is on."""
    row = connection.execute(REPLICATION_LAG_QUERY).one()
    if not row.is_replica:
        raise NotAReplicaError("replication lag: this server is a primary, not a replica")
    seconds = row.seconds_since_last_replayed_commit
    return ReplicationLag(
        int(row.bytes_received_not_replayed or 0), None if seconds is None else float(seconds)
    )


FactoryT = TypeVar("FactoryT", sessionmaker[Session], async_sessionmaker[AsyncSession])


def _watch_commits(session: Session) -> list[bool]:
    """A list that gains an item at each commit of ``session``."""
    committed: list[bool] = []
    event.listen(session, "after_commit", lambda _: committed.append(True))
    return committed


def _read_only(session: Session) -> None:
    session.connection(execution_options={"postgresql_readonly": True})


@dataclass
class _Request(Generic[FactoryT]):
    """The read-your-writes rule, shared by the sync and the asyncio request: each step is
    a function of a sync ``Session`` (an ``AsyncSession`` runs it through ``run_sync``)."""

    primary: FactoryT
    replica: FactoryT | None
    user_id: uuid.UUID
    read_after: str | None = None

    def _after_write(self, session: Session, committed: list[bool]) -> None:
        """Once the write committed, reads wait for the primary's WAL position."""
        if committed:
            self.read_after = session.scalar(_PRIMARY_POSITION)
            session.rollback()

    def _replayed(self, session: Session) -> bool:
        """Whether the replica ``session`` is on has replayed this request's writes."""
        return self.read_after is None or bool(
            session.scalar(_REPLAYED, {"position": self.read_after})
        )


class LearnerRequest(_Request[sessionmaker[Session]]):
    """One request's sessions for one learner; remembers its writes for read-your-writes."""

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A learner session on the primary; once it has committed, reads wait for the write."""
        with learner_session(self.primary, self.user_id) as session:
            committed = _watch_commits(session)
            yield session
            self._after_write(session, committed)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only learner session: on the replica if it has replayed this request's
        writes (or there were none), else on the primary."""
        if self.replica is not None:
            with learner_session(self.replica, self.user_id) as session:
                if self._replayed(session):
                    yield session
                    return
        with learner_session(self.primary, self.user_id) as session:
            _read_only(session)
            yield session


class AsyncLearnerRequest(_Request[async_sessionmaker[AsyncSession]]):
    """:class:`LearnerRequest` on SQLAlchemy's asyncio extension, with the same rule."""

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A learner session on the primary; once it has committed, reads wait for the write."""
        async with async_learner_session(self.primary, self.user_id) as session:
            committed = _watch_commits(session.sync_session)
            yield session
            await session.run_sync(self._after_write, committed)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only learner session: on the replica if it has replayed this request's
        writes (or there were none), else on the primary."""
        if self.replica is not None:
            async with async_learner_session(self.replica, self.user_id) as session:
                if await session.run_sync(self._replayed):
                    yield session
                    return
        async with async_learner_session(self.primary, self.user_id) as session:
            await session.run_sync(_read_only)
            yield session


@dataclass(frozen=True)
class _Router(Generic[FactoryT]):
    """The process's session factories; ``replica`` None sends everything to the primary."""

    primary: FactoryT
    replica: FactoryT | None = None
    # The factories it takes, and the router that takes the other kind.
    _factory_type: ClassVar[type]
    _other_router: ClassVar[str]

    def __post_init__(self) -> None:
        for factory in (self.primary, self.replica):
            if factory is not None and not isinstance(factory, self._factory_type):
                raise TypeError(
                    f"{type(self).__name__} takes {self._factory_type.__name__} factories,"
                    f" not {type(factory).__name__}: use {self._other_router}"
                )


class LearnerRouter(_Router[sessionmaker[Session]]):
    """Hands out :class:`LearnerRequest`s over ``sessionmaker`` factories."""

    _factory_type = sessionmaker
    _other_router = "AsyncLearnerRouter"

    def request(self, user_id: uuid.UUID, *, read_after: str | None = None) -> LearnerRequest:
        """Sessions for one request of ``user_id``; ``read_after`` carries an earlier
        request's :attr:`LearnerRequest.read_after` (a cookie, say)."""
        return LearnerRequest(self.primary, self.replica, user_id, read_after)


class AsyncLearnerRouter(_Router[async_sessionmaker[AsyncSession]]):
    """Hands out :class:`AsyncLearnerRequest`s over ``async_sessionmaker`` factories."""

    _factory_type = async_sessionmaker
    _other_router = "LearnerRouter"

    def request(self, user_id: uuid.UUID, *, read_after: str | None = None) -> AsyncLearnerRequest:
        """:meth:`LearnerRouter.request` for the asyncio extension."""
        return AsyncLearnerRequest(self.primary, self.replica, user_id, read_after)
