"""The PostgreSQL cluster the tests run against, and throwaway databases on it.

scripts/setup.sh prepares the cluster, the non-superuser owner role and the
``sensa_template`` database holding the extensions, and starts PgBouncer
(transaction pooling, ``SENSA_PGBOUNCER_PORT``) and a hot standby streaming
from the cluster (``SENSA_STANDBY_PORT``) beside it. Every test database is a
clone: of that template (empty, for migration tests) or of one migrated to head
once per session (for behaviour tests).

This is the job of pytest-postgresql's ``postgresql_noproc`` fixture and its
``DatabaseJanitor`` (template databases), which the tests do not use: as of
10.0, on a cluster that several test runs share as a non-superuser owner,

- ``postgresql_noproc`` names its template ``<dbname>_tmpl`` from one
  configured name and builds it from ``template1``. Two runs at once on one
  cluster collide on that name (``--postgresql-drop-test-database`` drops the
  other run's), and ``template1`` lacks PostGIS and pgvector, which only a
  superuser may create: the template must clone ``sensa_template``, and a
  noproc fixture's template can come only from another noproc fixture's, which
  it creates and drops. Ours are ``sensa_test_<random>``, cloned from it.
- ``DatabaseJanitor.init()`` ends every session connected to the template
  before cloning it (``pg_terminate_backend``): other runs' sessions on
  ``sensa_template`` too, and it fails outright on one of another role. A
  clone here waits for the template to be free instead
  (``local_cluster.create_database``).
- ``DatabaseJanitor.drop()`` terminates the database's sessions as the owner,
  which may not end those of the test logins (``tests/rls.py``), nor the
  server connections PgBouncer keeps for them: ``local_cluster.drop_database``
  ends each login's own sessions and :meth:`PostgresServer.close_pooled_connections`
  makes PgBouncer let go.
- Its ``postgresql`` fixture is a psycopg connection to a database made and
  dropped for each test; these fixtures hand SQLAlchemy URLs and engines to
  databases shared by a module or a session, and the migration tests drive
  Alembic as a deploy does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from sensa_db_tools import local_cluster
from sensa_db_tools.local_cluster import EXTENSIONS_TEMPLATE

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_environment(cls) -> PostgresServer:
        server = local_cluster.server_from_environment()
        return cls(
            host=server.host or local_cluster.HOST,
            port=server.port or local_cluster.PORT,
            user=server.username or local_cluster.OWNER,
            password=server.password or "",
        )

    @property
    def as_url(self) -> URL:
        """This server as the owner, at its maintenance database."""
        return URL.create(
            "postgresql",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=local_cluster.MAINTENANCE_DATABASE,
        )

    def through_pgbouncer(self) -> PostgresServer:
        """The same cluster through PgBouncer, whose ``*`` entry routes any database name."""
        return replace(
            self, host="127.0.0.1", port=local_cluster.environment_port("SENSA_PGBOUNCER_PORT")
        )

    def standby(self) -> PostgresServer:
        """The hot standby streaming from this cluster (read-only)."""
        return replace(self, port=local_cluster.environment_port("SENSA_STANDBY_PORT"))

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
        # Asked of the maintenance database: a session on the template, however
        # short, makes every clone of it meanwhile wait.
        try:
            with self.connect(local_cluster.MAINTENANCE_DATABASE) as connection:
                found = connection.execute(
                    "SELECT FROM pg_database WHERE datname = %s", (EXTENSIONS_TEMPLATE,)
                ).fetchone()
        except psycopg.OperationalError as exc:
            return (
                f"cannot reach PostgreSQL as {self.user}@{self.host}:{self.port}"
                f" ({str(exc).strip().splitlines()[-1]}): run scripts/setup.sh first"
            )
        if found is None:
            return f"no database {EXTENSIONS_TEMPLATE!r} on the cluster: run scripts/setup.sh first"
        return None

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
        """A new database cloned from ``template``, dropped afterwards."""
        with local_cluster.own_database(
            self.as_url, template, prefix="sensa_test", as_template=as_template
        ) as dbname:
            yield dbname


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
