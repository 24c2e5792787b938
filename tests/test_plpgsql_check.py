"""plpgsql_check over every PL/pgSQL function, and every trigger function with each of its tables.

Extra, performance and security warnings are on. Errors must be none; the
warnings kept are listed with their reasons in tests/plpgsql_check_warnings.toml.
plpgsql_check is not a trusted extension, so scripts/setup.sh installs it in a
template of its own (in schema plpgsql_check), and the database checked here is
migrated from that template to head.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from tests.postgres import REPO_ROOT, PostgresServer, upgrade

CHECKS_TEMPLATE = "sensa_template_plpgsql_check"
KEPT_WARNINGS = REPO_ROOT / "tests" / "plpgsql_check_warnings.toml"

# Every PL/pgSQL function of ours (not an extension's) in public: a trigger
# function once per table it fires on, any other function with no table.
CHECK_EVERY_FUNCTION = text("""
SELECT p.proname AS function, coalesce(c.relname, '') AS "table",
       r.level, r.sqlstate, r.message, r.lineno, r.detail
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
LEFT JOIN pg_catalog.pg_trigger t ON t.tgfoid = p.oid AND NOT t.tgisinternal
LEFT JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
CROSS JOIN LATERAL plpgsql_check.plpgsql_check_function_tb(
    p.oid, coalesce(t.tgrelid, 0),
    extra_warnings => true, performance_warnings => true, security_warnings => true
) r
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (
      SELECT FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  )
ORDER BY 1, 2, r.lineno
""")

CHECKED_COUNT = text("""
SELECT count(*) FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
WHERE p.pronamespace = 'public'::regnamespace
""")


@dataclass(frozen=True)
class Finding:
    function: str
    table: str
    level: str
    message: str
    where: str

    def __str__(self) -> str:
        on = f" on {self.table}" if self.table else ""
        return f"{self.level}: {self.function}(){on}: {self.message} ({self.where})"


def findings(connection: Connection) -> list[Finding]:
    return [
        Finding(
            row.function,
            row.table,
            row.level,
            row.message,
            f"line {row.lineno}, {row.sqlstate}{': ' + row.detail if row.detail else ''}",
        )
        for row in connection.execute(CHECK_EVERY_FUNCTION)
    ]


def kept_warnings() -> dict[tuple[str, str, str], str]:
    kept = tomllib.loads(KEPT_WARNINGS.read_text()).get("kept", [])
    for entry in kept:
        assert entry.get("reason", "").strip(), f"{KEPT_WARNINGS.name}: {entry} has no reason"
    return {(e["function"], e["table"], e["message"]): e["reason"] for e in kept}


@pytest.fixture(scope="module")
def checked_database(pg_server: PostgresServer) -> Iterator[Connection]:
    with pg_server.connect("postgres") as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (CHECKS_TEMPLATE,)
        ).fetchone()
    if exists is None:
        pytest.fail(f"database {CHECKS_TEMPLATE} is missing: run scripts/setup.sh")
    with pg_server.database(template=CHECKS_TEMPLATE) as dbname:
        url = pg_server.url(dbname)
        upgrade(url)
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as connection:
            yield connection
        engine.dispose()


def test_every_plpgsql_function_and_trigger_checks_clean(checked_database: Connection) -> None:
    assert checked_database.scalar(CHECKED_COUNT) > 0
    found = findings(checked_database)
    errors = [str(f) for f in found if f.level == "error"]
    assert errors == []
    kept = kept_warnings()
    unexplained = [str(f) for f in found if (f.function, f.table, f.message) not in kept]
    assert unexplained == [], f"fix these, or keep them with a reason in {KEPT_WARNINGS.name}"
    stale = set(kept) - {(f.function, f.table, f.message) for f in found}
    assert stale == set(), f"no longer reported: remove from {KEPT_WARNINGS.name}"


def test_the_check_catches_a_column_the_table_lacks(
    checked_database: Connection,
) -> None:
    """The control: a trigger function reading a column its table lacks is an error."""
    with checked_database.begin_nested() as savepoint:
        checked_database.execute(
            text("""
            CREATE FUNCTION public.stamp_nothing() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.user_id := NEW.no_such_column;
                RETURN NEW;
            END $$
        """)
        )
        checked_database.execute(
            text("""
            CREATE TRIGGER stamp_nothing BEFORE INSERT ON public.keywords
            FOR EACH ROW EXECUTE FUNCTION public.stamp_nothing()
        """)
        )
        caught = {
            (f.level, f.message)
            for f in findings(checked_database)
            if f.function == "stamp_nothing"
        }
        savepoint.rollback()
    assert ("error", 'record "new" has no field "no_such_column"') in caught
