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

Read-your-writes: after a write, :attr:`LearnerRequest.read_after` holds the
primary's WAL position; :meth:`LearnerRequest.read` uses the replica only when
its replay has reached it, and the primary (read-only) otherwise. Replication
lag is observable with :func:`replication_lag`, or the query in
docs/OPERATIONS.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session, sessionmaker

from sensa_db.request_context import learner_session

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


@dataclass
class LearnerRequest:
    """One request's sessions for one learner; remembers its writes for read-your-writes."""

    primary: sessionmaker[Session]
    replica: sessionmaker[Session] | None
    user_id: uuid.UUID
    read_after: str | None = None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A learner session on the primary; once it has committed, reads wait for the write."""
        committed: list[bool] = []
        with learner_session(self.primary, self.user_id) as session:
            event.listen(session, "after_commit", lambda _: committed.append(True))
            yield session
            if committed:
                self.read_after = session.scalar(_PRIMARY_POSITION)
                session.rollback()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only learner session: on the replica if it has replayed this request's
        writes (or there were none), else on the primary."""
        if self.replica is not None:
            with learner_session(self.replica, self.user_id) as session:
                if self.read_after is None or session.scalar(
                    _REPLAYED, {"position": self.read_after}
                ):
                    yield session
                    return
        with learner_session(self.primary, self.user_id) as session:
            session.connection(execution_options={"postgresql_readonly": True})
            yield session


@dataclass(frozen=True)
class LearnerRouter:
    """The process's session factories; ``replica`` None sends everything to the primary."""

    primary: sessionmaker[Session]
    replica: sessionmaker[Session] | None = None

    def request(self, user_id: uuid.UUID, *, read_after: str | None = None) -> LearnerRequest:
        """Sessions for one request of ``user_id``; ``read_after`` carries an earlier
        request's :attr:`LearnerRequest.read_after` (a cookie, say)."""
        return LearnerRequest(self.primary, self.replica, user_id, read_after)
