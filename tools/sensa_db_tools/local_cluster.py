"""The local PostgreSQL cluster scripts/setup.sh prepares, and the database and
login helpers that the tests, the seeds, the benchmark and ``sensa-db`` share.

The defaults below are the one Python copy of the local cluster's settings.
setup.sh runs before any Python package exists, so it keeps the one shell copy;
tests/test_local_cluster.py fails when the two disagree. Every value can be
overridden by the ``SENSA_PG*`` variable setup.sh reads too.

``python -m sensa_db_tools.local_cluster`` prints the development database's
URL (scripts/up.sh exports it as DATABASE_URL).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import URL

from sensa_db.security import LOGIN_SETTINGS

HOST = "localhost"
PORT = 5432
PGBOUNCER_PORT = 6432
STANDBY_PORT = 5433
OWNER = "sensa_owner"
# For the local cluster only; every login the tools make shares it.
OWNER_PASSWORD = "sensa_local_only"  # noqa: S105  # local cluster only
DEVELOPMENT_DATABASE = "sensa"
# The empty database holding the extensions, which every scratch database clones.
EXTENSIONS_TEMPLATE = "sensa_template"
MAINTENANCE_DATABASE = "postgres"

# Idempotent, and safe against a concurrent session doing the same: roles and
# memberships are cluster-wide, and parallel test runs or benchmarks share them.
_ENSURE_LOGIN_MEMBER = """
DO $login$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {login}) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L', {login}, {password});
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT pg_catalog.pg_has_role({login}, {group_role}, 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT %I TO %I', {group_role}, {login});
        EXCEPTION WHEN unique_violation THEN NULL;
        END;
    END IF;
END
$login$
"""


_PORTS = {
    "SENSA_PGPORT": PORT,
    "SENSA_PGBOUNCER_PORT": PGBOUNCER_PORT,
    "SENSA_STANDBY_PORT": STANDBY_PORT,
}


def environment_port(variable: str) -> int:
    """The port ``variable`` (one of setup.sh's SENSA_*_PORT) names, else its default."""
    return int(os.environ.get(variable, str(_PORTS[variable])))


def server_from_environment() -> URL:
    """The local cluster as its owner, at its maintenance database."""
    return URL.create(
        "postgresql",
        username=os.environ.get("SENSA_PGUSER", OWNER),
        password=os.environ.get("SENSA_PGPASSWORD", OWNER_PASSWORD),
        host=os.environ.get("SENSA_PGHOST", HOST),
        port=environment_port("SENSA_PGPORT"),
        database=MAINTENANCE_DATABASE,
    )


def development_database_url() -> URL:
    """The database ``scripts/up.sh`` migrates and seeds."""
    return server_from_environment().set(
        database=os.environ.get("SENSA_PGDATABASE", DEVELOPMENT_DATABASE)
    )


def conninfo(server: URL, dbname: str, user: str | None = None) -> str:
    """A libpq URL for ``dbname`` on ``server``, as its owner or as ``user``
    (a login sharing the owner's password)."""
    url = server.set(drivername="postgresql", database=dbname)
    if user is not None:
        url = url.set(username=user)
    return url.render_as_string(hide_password=False)


def _maintenance(server: URL) -> psycopg.Connection[Any]:
    return psycopg.connect(
        conninfo(server, server.database or MAINTENANCE_DATABASE), autocommit=True
    )


def create_database(
    server: URL,
    template: str,
    *,
    prefix: str = "sensa_scratch",
    as_template: bool = False,
    wait_seconds: float = 60,
) -> str:
    """A new database cloned from ``template``, named ``<prefix>_<random>``.

    A plain CREATE DATABASE: PostgreSQL itself asks an autovacuum worker on the
    template to leave, which a non-superuser owner may not terminate. While
    another session is connected to the template (another test run checking on
    it, a psql), PostgreSQL refuses the clone after 5 s; it is tried again until
    ``wait_seconds`` have passed, never by ending that session. The clone gets
    the default database privileges, not the template's (TEMPORARY, which the
    schema's revisions take from PUBLIC), so the template's are copied.
    """
    dbname = f"{prefix}_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(dbname), sql.Identifier(template)
    )
    if as_template:
        statement += sql.SQL(" IS_TEMPLATE true")
    deadline = time.monotonic() + wait_seconds
    with _maintenance(server) as admin:
        while True:
            try:
                admin.execute(statement)
                break
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        _copy_database_privileges(admin, template, dbname)
    return dbname


def _copy_database_privileges(admin: psycopg.Connection[Any], source: str, target: str) -> None:
    granted = admin.execute(
        "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type"
        " FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a"
        " LEFT JOIN pg_roles r ON r.oid = a.grantee"
        " WHERE d.datname = %s AND a.grantee <> d.datdba",
        (source,),
    ).fetchall()
    if not granted:  # the template keeps PostgreSQL's defaults, as the clone does
        return
    database = sql.Identifier(target)
    admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
    for grantee, privilege in granted:
        admin.execute(
            sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                sql.SQL(privilege),
                database,
                sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee),
            )
        )


def drop_database(server: URL, dbname: str, *, logins: tuple[str, ...] = ()) -> None:
    """Drop ``dbname``, ending its client sessions first.

    New connections are refused first, so nothing slips in between. Only a
    role's members may end its sessions, so the owner and each of ``logins``
    (which a pooler may still hold connections for) end their own; an
    autovacuum worker is left to DROP DATABASE, which cancels it by itself.
    """
    name = sql.Identifier(dbname)
    with _maintenance(server) as admin:
        exists = admin.execute("SELECT FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists is None:
            return
        admin.execute(sql.SQL("ALTER DATABASE {} WITH allow_connections false").format(name))
    for login in (None, *logins):
        try:
            with psycopg.connect(
                conninfo(server, server.database or MAINTENANCE_DATABASE, login), autocommit=True
            ) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                    " AND usename = current_user AND backend_type = 'client backend'"
                    " AND pid <> pg_backend_pid()",
                    (dbname,),
                )
        except psycopg.OperationalError:
            continue  # a login that was never created
    with _maintenance(server) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH is_template false").format(name))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))


@contextmanager
def own_database(
    server: URL,
    template: str,
    *,
    keep: bool = False,
    prefix: str = "sensa_scratch",
    as_template: bool = False,
    logins: tuple[str, ...] = (),
) -> Iterator[str]:
    """A database cloned from ``template`` for the block, dropped afterwards
    unless ``keep`` (then its name is printed, to be inspected)."""
    dbname = create_database(server, template, prefix=prefix, as_template=as_template)
    try:
        yield dbname
    finally:
        if keep:
            print(f"kept database {dbname}", file=sys.stderr, flush=True)
        else:
            drop_database(server, dbname, logins=logins)


def ensure_login_members(
    owner: psycopg.Connection[Any], members: Mapping[str, str], password: str
) -> None:
    """Create each login of ``members`` (group role -> login) with ``password``,
    make it a member of its group role, where missing, and give it its role's
    ``LOGIN_SETTINGS`` (timeouts); committed.

    Never the owner itself: a standing membership of admin_role would put the
    owner under its USING (true) policies and undo FORCE.
    """
    for group_role, login in members.items():
        # A DO block takes no parameters: the values are quoted as literals.
        owner.execute(
            sql.SQL(_ENSURE_LOGIN_MEMBER).format(
                login=sql.Literal(login),
                password=sql.Literal(password),
                group_role=sql.Literal(group_role),
            )
        )
        for setting, value in LOGIN_SETTINGS.get(group_role, {}).items():
            owner.execute(
                sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    sql.Identifier(login), sql.Identifier(setting), sql.Literal(value)
                )
            )
        if not owner.autocommit:
            owner.commit()


if __name__ == "__main__":
    print(development_database_url().render_as_string(hide_password=False))
