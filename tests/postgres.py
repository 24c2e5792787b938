"""The PostgreSQL cluster the tests run against, and throwaway databases on it.

scripts/setup.sh prepares the cluster, the non-superuser owner role and the
``sensa_template`` database holding the extensions, and starts PgBouncer
(transaction pooling, ``SENSA_PGBOUNCER_PORT``) and a hot standby streaming
from the cluster (``SENSA_STANDBY_PORT``) beside it. Every test database is a
clone: of that template (empty, for migration tests) or of one migrated to head
once per session (for behaviour tests).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

REPO_ROOT = Path(__file__).resolve().parent.parent
EXTENSIONS_TEMPLATE = "sensa_template"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_environment(cls) -> PostgresServer:
        return cls(
            host=os.environ.get("SENSA_PGHOST", "localhost"),
            port=int(os.environ.get("SENSA_PGPORT", "5432")),
            user=os.environ.get("SENSA_PGUSER", "sensa_owner"),
            password=os.environ.get("SENSA_PGPASSWORD", "sensa_local_only"),
        )

    def through_pgbouncer(self) -> PostgresServer:
        """The same cluster through PgBouncer, whose ``*`` entry routes any database name."""
        return replace(
            self, host="127.0.0.1", port=int(os.environ.get("SENSA_PGBOUNCER_PORT", "6432"))
        )

    def standby(self) -> PostgresServer:
        """The hot standby streaming from this cluster (read-only)."""
        return replace(self, port=int(os.environ.get("SENSA_STANDBY_PORT", "5433")))

    def close_pooled_connections(self, dbname: str) -> None:
        """Make PgBouncer (this server, through_pgbouncer()) close its server connections to
        ``dbname``, which the owner cannot terminate, so that the database can be dropped."""
        with self.connect("pgbouncer") as console:
            # The admin console speaks only the simple query protocol.
            for command in (f"KILL {dbname}", f"RESUME {dbname}"):
                result = console.pgconn.exec_(command.encode())
                if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
                    raise RuntimeError(f"PgBouncer {command}: {result.error_message.decode()}")

    def url(
        self, dbname: str, *, driver: str = "postgresql+psycopg", user: str | None = None
    ) -> str:
        """URL of ``dbname``, as the owner or as ``user`` (test logins share its password)."""
        login = user or self.user
        return f"{driver}://{login}:{self.password}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str, *, autocommit: bool = False) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            autocommit=autocommit,
        )

    def unreachable_reason(self) -> str | None:
        try:
            with self.connect(EXTENSIONS_TEMPLATE):
                return None
        except psycopg.OperationalError as exc:
            return (
                f"cannot reach database {EXTENSIONS_TEMPLATE!r} as {self.user}@{self.host}:"
                f"{self.port} ({str(exc).strip().splitlines()[-1]}): run scripts/setup.sh first"
            )

    def wait_for_replay(self, standby: PostgresServer, dbname: str, timeout: float = 60) -> None:
        """Wait until ``standby`` has replayed everything this primary has written so far."""
        with self.connect(dbname) as primary:
            position = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with standby.connect(dbname) as replica:
                    row = replica.execute(
                        "SELECT pg_last_wal_replay_lsn() >= %s", position
                    ).fetchone()
                    if row is not None and row[0]:
                        return
            except psycopg.OperationalError:
                pass  # the database itself is not replayed yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby did not replay {dbname} within {timeout} s")
            time.sleep(0.05)

    @contextmanager
    def database(self, *, template: str, as_template: bool = False) -> Iterator[str]:
        """A new database cloned from ``template``, dropped afterwards.

        A plain CREATE DATABASE: PostgreSQL itself asks an autovacuum worker on
        the template to leave, which a non-superuser may not terminate.
        """
        dbname = f"sensa_test_{uuid.uuid4().hex[:12]}"
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(dbname), sql.Identifier(template)
        )
        if as_template:
            statement += sql.SQL(" IS_TEMPLATE true")
        with self.connect("postgres", autocommit=True) as admin:
            admin.execute(statement)
        try:
            yield dbname
        finally:
            self._drop(dbname)

    def _drop(self, dbname: str) -> None:
        """Drop ``dbname``, ending the tests' own sessions on it first.

        Only client backends are ended: an autovacuum worker is a superuser
        process a non-superuser may not terminate, and DROP DATABASE cancels
        it by itself.
        """
        with self.connect("postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH allow_connections false").format(
                    sql.Identifier(dbname)
                )
            )
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                (dbname,),
            )
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH is_template false").format(sql.Identifier(dbname))
            )
            admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(dbname)))


def alembic_config(connection: Connection | Engine | None = None) -> Config:
    """The project's Alembic configuration; with ``connection``, env.py migrates through it.

    Given an Engine, env.py runs as a deploy does: under the migration lock, on
    a connection of its own, one transaction per revision (revisions with an
    autocommit_block need that). Given a Connection, it runs inside the
    caller's transaction.
    """
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        command.upgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()
