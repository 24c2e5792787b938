"""Logical replication of the learner tables when the publishing connection's role is
subject to row-level security (what RDS Blue/Green's logical replication and every
CDC consumer rely on; docs/OPERATIONS.md, "Logical replication").

Measured on a throwaway PostgreSQL 15 cluster of its own with wal_level = logical
(the shared cluster runs wal_level = replica and is never reconfigured), made by
initdb as the postgres OS user and removed at the end. The schema is migrated to
head by the non-superuser owner and seeded, as everywhere else; only the
subscriptions need the cluster's superuser (CREATE SUBSCRIPTION does in 15).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from sensa_db.security import ADMIN_ROLE, BACKUP_ROLE, RLS_TABLES
from sensa_db_tools.local_cluster import OWNER, OWNER_PASSWORD
from sensa_db_tools.seeds import acting_as, seed
from tests.postgres import upgrade

BINARIES = Path("/usr/lib/postgresql/15/bin")
PORTS = range(5441, 5461)
PUBLICATION = "learner_tables"
REPLICATOR = "sensa_test_replicator"
POSTGIS_STATISTICS = """
    SELECT p.oid::regprocedure FROM pg_proc p
    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'postgis'
    WHERE p.proname IN ('_postgis_stats', '_postgis_selectivity', '_postgis_join_selectivity',
                        '_postgis_index_extent', 'st_estimatedextent')
"""
# Seconds to wait for a subscription to reach a state; a wait, never a measurement.
PATIENCE = 120


def _unavailable_reason() -> str | None:
    if not (BINARIES / "initdb").is_file():
        return f"no PostgreSQL 15 server binaries in {BINARIES}"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres OS user to run a throwaway cluster as"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "a throwaway cluster is started as the postgres OS user: run as root or postgres"
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_unavailable_reason() is not None, reason=_unavailable_reason() or ""),
]


def _as_postgres(*command: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, text=True)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@dataclass(frozen=True)
class Cluster:
    port: int
    log: Path

    def conninfo(self, dbname: str, user: str = "postgres", **options: str) -> str:
        extra = "".join(f" {key}={value}" for key, value in options.items())
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}{extra}"

    def superuser(self, dbname: str) -> psycopg.Connection:
        return psycopg.connect(self.conninfo(dbname), autocommit=True)

    def owner_url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{OWNER}:{OWNER_PASSWORD}@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL 15 cluster with wal_level = logical, stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="sensa-logical-"))
    postgres = pwd.getpwnam("postgres")
    os.chown(home, postgres.pw_uid, postgres.pw_gid)
    data, port = home / "data", _free_port()
    _as_postgres(str(BINARIES / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    settings = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={home}"
        " -c wal_level=logical -c fsync=off -c max_wal_senders=10 -c max_replication_slots=10"
    )
    pg_ctl = str(BINARIES / "pg_ctl")
    _as_postgres(pg_ctl, "start", "-w", "-D", str(data), "-l", str(home / "log"), "-o", settings)
    try:
        yield Cluster(port, home / "log")
    finally:
        _as_postgres(pg_ctl, "stop", "-D", str(data), "-m", "fast")
        shutil.rmtree(home)


@pytest.fixture(scope="module")
def world(cluster: Cluster) -> str:
    """The seeded publisher, and a template at head for the subscribers (``schema``)."""
    with cluster.superuser("postgres") as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(OWNER), sql.Literal(OWNER_PASSWORD)
            )
        )
        admin.execute(f"CREATE DATABASE schema OWNER {OWNER}")
    with cluster.superuser("schema") as admin:
        for extension in ("vector", "postgis", "pg_trgm"):
            admin.execute(f"CREATE EXTENSION {extension}")
        # As scripts/setup.sh does: the owner holds PostGIS's statistics functions,
        # as the login that creates the extension on RDS does, for the revision
        # that takes them from PUBLIC.
        for (function,) in admin.execute(POSTGIS_STATISTICS).fetchall():
            admin.execute(f"ALTER FUNCTION {function} OWNER TO {OWNER}")
    upgrade(cluster.owner_url("schema"))
    with cluster.superuser("postgres") as admin:
        admin.execute(f"CREATE DATABASE publisher TEMPLATE schema OWNER {OWNER}")
        admin.execute(f"CREATE ROLE {REPLICATOR} LOGIN REPLICATION")
    engine = create_engine(cluster.owner_url("publisher"), poolclass=NullPool)
    with engine.begin() as owner:
        seed(owner, environ={})
        # The owner publishes its own tables; the replicator may read them.
        owner.execute(text(f"CREATE PUBLICATION {PUBLICATION} FOR TABLE {', '.join(RLS_TABLES)}"))
        owner.execute(text(f"GRANT SELECT ON {', '.join(RLS_TABLES)} TO {REPLICATOR}"))
    engine.dispose()
    return "publisher"


def _counts(cluster: Cluster, dbname: str, *, as_role: str | None = None) -> dict[str, int]:
    """Rows per learner table: on the publisher as staff, on a subscriber as the superuser."""
    if as_role is None:
        with cluster.superuser(dbname) as connection:
            return {
                t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                for t in RLS_TABLES
            }
    engine = create_engine(cluster.owner_url(dbname), poolclass=NullPool)
    with engine.begin() as owner, acting_as(owner, as_role):
        counts = {t: owner.scalar(text(f"SELECT count(*) FROM {t}")) or 0 for t in RLS_TABLES}
    engine.dispose()
    return counts


def _wait_for(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {PATIENCE} s for {what}")
        time.sleep(0.5)


def _subscribe(cluster: Cluster, name: str, **options: str) -> None:
    """A subscriber database at head, subscribed to the publisher as the replicator."""
    with cluster.superuser("postgres") as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE schema OWNER {OWNER}")
    # On one cluster, the slot is made beforehand: CREATE SUBSCRIPTION would wait on itself.
    with cluster.superuser("publisher") as publisher:
        publisher.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
    with cluster.superuser(name) as subscriber:
        subscriber.execute(
            sql.SQL(
                "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}"
                " WITH (create_slot = false, slot_name = {})"
            ).format(
                sql.Identifier(name),
                sql.Literal(cluster.conninfo("publisher", REPLICATOR, **options)),
                sql.Identifier(PUBLICATION),
                sql.Literal(name),
            )
        )


def _synced(cluster: Cluster, name: str) -> bool:
    with cluster.superuser(name) as subscriber:
        pending = subscriber.execute(
            "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')"
        ).fetchone()
    return pending == (0,)


def _sync_errors(cluster: Cluster, name: str) -> int:
    """Initial copies of the subscription that failed so far."""
    with cluster.superuser(name) as subscriber:
        row = subscriber.execute(
            "SELECT sync_error_count FROM pg_stat_subscription_stats WHERE subname = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


def _caught_up(cluster: Cluster, name: str) -> Callable[[], bool]:
    with cluster.superuser("publisher") as publisher:
        (position,) = publisher.execute("SELECT pg_current_wal_lsn()").fetchone()  # type: ignore[misc]

    def confirmed() -> bool:
        with cluster.superuser("publisher") as publisher:
            row = publisher.execute(
                "SELECT confirmed_flush_lsn >= %s FROM pg_replication_slots WHERE slot_name = %s",
                (position, name),
            ).fetchone()
        return row == (True,)

    return confirmed


def _add_a_course(cluster: Cluster) -> None:
    """A change after the initial copy: staff give the first learner one more course."""
    engine = create_engine(cluster.owner_url("publisher"), poolclass=NullPool)
    with engine.begin() as owner, acting_as(owner, ADMIN_ROLE):
        owner.execute(
            text(
                "INSERT INTO courses (user_id, name)"
                " SELECT user_id, 'Streamed after the copy' FROM users ORDER BY user_id LIMIT 1"
            )
        )
    engine.dispose()


def test_the_copy_sees_only_what_the_replicators_policies_show_and_changes_stream_whole(
    cluster: Cluster, world: str
) -> None:
    """Subject to row-level security with no policy of its own, the replicator's initial
    copy is empty, silently; every change made afterwards streams, whatever the policies."""
    published = _counts(cluster, world, as_role=ADMIN_ROLE)
    assert all(published.values())
    _subscribe(cluster, "under_rls")
    _wait_for("the initial copy", lambda: _synced(cluster, "under_rls"))
    assert _counts(cluster, "under_rls") == dict.fromkeys(RLS_TABLES, 0)
    assert _sync_errors(cluster, "under_rls") == 0
    _add_a_course(cluster)
    _wait_for("the change to stream", _caught_up(cluster, "under_rls"))
    assert _counts(cluster, "under_rls") == {t: int(t == "courses") for t in RLS_TABLES}


def test_as_a_member_of_the_backup_role_the_copy_is_whole(cluster: Cluster, world: str) -> None:
    with cluster.superuser("postgres") as admin:
        admin.execute(f"GRANT {BACKUP_ROLE} TO {REPLICATOR}")
    try:
        _subscribe(cluster, "as_backup")
        _wait_for("the initial copy", lambda: _synced(cluster, "as_backup"))
        _wait_for("the subscriber to catch up", _caught_up(cluster, "as_backup"))
        assert _counts(cluster, "as_backup") == _counts(cluster, world, as_role=ADMIN_ROLE)
    finally:
        with cluster.superuser("postgres") as admin:
            admin.execute(f"REVOKE {BACKUP_ROLE} FROM {REPLICATOR}")


def test_with_row_security_off_a_copy_the_policies_would_narrow_fails_instead(
    cluster: Cluster, world: str
) -> None:
    """PostgreSQL's advice for a replication role: options=-crow_security=off. Then a
    policy that would filter the copy stops it with an error instead of emptying it."""
    _subscribe(cluster, "row_security_off", options="'-c row_security=off'")

    _wait_for("the initial copy to fail", lambda: _sync_errors(cluster, "row_security_off") > 0)
    assert _counts(cluster, "row_security_off") == dict.fromkeys(RLS_TABLES, 0)
    assert "query would be affected by row-level security policy for table" in (
        cluster.log.read_text()
    )
