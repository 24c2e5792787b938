"""sensa_db_tools.local_cluster: the local defaults in one place, the shared database helpers."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import psycopg
import pytest

from sensa_db_tools import local_cluster
from tests.postgres import EXTENSIONS_TEMPLATE, REPO_ROOT, PostgresServer

SETUP_SCRIPT = REPO_ROOT / "scripts" / "setup.sh"
# setup.sh's settings: NAME="${SENSA_VARIABLE:-default}"
_SHELL_DEFAULT = re.compile(r'^\w+="\$\{(SENSA_(?:PG\w+|\w+_PORT)):-([^}]*)\}"$', re.MULTILINE)
_SHELL_TEMPLATE = re.compile(r'^TEMPLATE_DB="([^"]+)"$', re.MULTILINE)


def shell_defaults(script: str) -> dict[str, str]:
    """The SENSA_PG* and port defaults and the template a copy of setup.sh declares."""
    defaults = dict(_SHELL_DEFAULT.findall(script))
    defaults["TEMPLATE_DB"] = ",".join(_SHELL_TEMPLATE.findall(script))
    return defaults


def module_defaults() -> dict[str, str]:
    return {
        "SENSA_PGPORT": str(local_cluster.PORT),
        "SENSA_PGUSER": local_cluster.OWNER,
        "SENSA_PGPASSWORD": local_cluster.OWNER_PASSWORD,
        "SENSA_PGDATABASE": local_cluster.DEVELOPMENT_DATABASE,
        "SENSA_PGBOUNCER_PORT": str(local_cluster.PGBOUNCER_PORT),
        "SENSA_STANDBY_PORT": str(local_cluster.STANDBY_PORT),
        "TEMPLATE_DB": local_cluster.EXTENSIONS_TEMPLATE,
    }


def test_setup_sh_declares_the_defaults_of_local_cluster() -> None:
    assert shell_defaults(SETUP_SCRIPT.read_text()) == module_defaults()


def test_a_default_changed_in_setup_sh_alone_is_caught() -> None:
    drifted = SETUP_SCRIPT.read_text().replace('"${SENSA_PGPORT:-5432}"', '"${SENSA_PGPORT:-5439}"')
    assert drifted != SETUP_SCRIPT.read_text()
    assert shell_defaults(drifted) != module_defaults()


def test_up_sh_takes_the_development_url_from_the_module() -> None:
    env = {"PATH": "/usr/bin:/bin", "SENSA_PGPORT": "6543", "SENSA_PGDATABASE": "sensa_s18_dev"}
    printed = subprocess.run(
        [sys.executable, "-m", "sensa_db_tools.local_cluster"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    assert printed == "postgresql://sensa_owner:sensa_local_only@localhost:6543/sensa_s18_dev"
    assert "-m sensa_db_tools.local_cluster" in (REPO_ROOT / "scripts" / "up.sh").read_text()


def database_exists(pg_server: PostgresServer, dbname: str) -> bool:
    with pg_server.connect(local_cluster.MAINTENANCE_DATABASE) as admin:
        found = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (dbname,))
        return found.fetchone() == (1,)


def test_a_scratch_database_is_dropped_with_its_sessions(pg_server: PostgresServer) -> None:
    with local_cluster.own_database(
        pg_server.as_url, EXTENSIONS_TEMPLATE, prefix="sensa_s18"
    ) as dbname:
        assert dbname.startswith("sensa_s18_")
        # Left open: DROP DATABASE alone would refuse while it is connected.
        lingering = pg_server.connect(dbname)
    assert not database_exists(pg_server, dbname)
    with pytest.raises(psycopg.OperationalError):
        lingering.execute("SELECT 1")


def test_a_kept_database_stays(pg_server: PostgresServer) -> None:
    """The control: own_database(keep=True) drops nothing, so the check above can see a drop."""
    with local_cluster.own_database(
        pg_server.as_url, EXTENSIONS_TEMPLATE, prefix="sensa_s18", keep=True
    ) as dbname:
        pass
    try:
        assert database_exists(pg_server, dbname)
    finally:
        local_cluster.drop_database(pg_server.as_url, dbname)
    assert not database_exists(pg_server, dbname)


# Each waits out a busy template: left out of the fast loop.
@pytest.mark.slow
def test_a_clone_waits_for_a_session_on_its_template_to_end(pg_server: PostgresServer) -> None:
    with pg_server.database(template=EXTENSIONS_TEMPLATE, as_template=True) as template:
        on_template = pg_server.connect(template)
        # Let go after PostgreSQL's own 5 s wait has refused the first attempt.
        release = threading.Timer(6, on_template.close)
        release.start()
        try:
            clone = local_cluster.create_database(pg_server.as_url, template, wait_seconds=30)
        finally:
            release.join()
        local_cluster.drop_database(pg_server.as_url, clone)


@pytest.mark.slow
def test_a_clone_gives_up_when_the_template_stays_busy(pg_server: PostgresServer) -> None:
    """The control: without the wait, the session on the template refuses the clone."""
    with (
        pg_server.database(template=EXTENSIONS_TEMPLATE, as_template=True) as template,
        pg_server.connect(template),
        pytest.raises(psycopg.errors.ObjectInUse),
    ):
        local_cluster.create_database(pg_server.as_url, template, wait_seconds=0)
