"""An attacker holding one of the application's logins, and what it tries.

The attacker connects as a test login (tests/rls.py), plants temporary objects
that shadow what a SECURITY DEFINER function names, then takes a path that
reaches the definer. Its planted code is ``pg_temp.spy()``: wherever it runs it
reports ``current_user`` in a NOTICE and tries the damage an attacker would do
with that identity (make its login a member of the schema's owner). A defended
definer never runs it with an identity other than the attacker's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import make_url

from sensa_db.security import SCHEMA_OWNER_ROLE

# Every type name a definer or a function it reaches might leave unqualified.
SHADOWED_TYPES = {
    "uuid": "pg_catalog.uuid",
    "text": "pg_catalog.text",
    "int4": "pg_catalog.int4",
    "bool": "pg_catalog.bool",
    "jsonb": "pg_catalog.jsonb",
    "numeric": "pg_catalog.numeric",
    "varchar": "pg_catalog.varchar",
    "timestamptz": "pg_catalog.timestamptz",
    "vector": "public.vector",
    "feedback_type_enum": "public.feedback_type_enum",
    "complexity_level_enum": "public.complexity_level_enum",
}
# Relations the definers write or read, shadowed by temporary tables.
SHADOWED_TABLES = (
    "audit_log",
    "user_annotations",
    "course_documents",
    "document_claims",
    "pipeline_results",
    "processed_documents",
    "chapters",
    "keywords",
)
SPY = """
CREATE FUNCTION pg_temp.spy(value anyelement) RETURNS boolean
LANGUAGE plpgsql AS $spy$
BEGIN
    RAISE NOTICE 'spy ran as %', current_user;
    BEGIN
        EXECUTE pg_catalog.format('GRANT sensa_schema_owner TO %I', session_user);
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
    RETURN true;
END
$spy$
"""
SPY_EQUALS = """
CREATE FUNCTION pg_temp.spy_equals(a pg_catalog.uuid, b pg_catalog.uuid) RETURNS boolean
LANGUAGE sql AS $spy$ SELECT pg_temp.spy(a) AND a OPERATOR(pg_catalog.=) b $spy$
"""
# Functions and an operator under the names a definer calls: PostgreSQL never
# looks for either in pg_temp unless it is named, so these must stay unused.
SHADOWED_FUNCTIONS = (
    "CREATE FUNCTION pg_temp.now() RETURNS pg_catalog.timestamptz LANGUAGE sql"
    " AS $f$ SELECT pg_catalog.now() WHERE pg_temp.spy(1) $f$",
    "CREATE FUNCTION pg_temp.current_learner_id() RETURNS pg_catalog.uuid LANGUAGE sql"
    " AS $f$ SELECT NULL::pg_catalog.uuid WHERE pg_temp.spy(1) $f$",
    "CREATE FUNCTION pg_temp.btrim(pg_catalog.text) RETURNS pg_catalog.text LANGUAGE sql"
    " AS $f$ SELECT pg_catalog.btrim($1) WHERE pg_temp.spy(1) $f$",
    "CREATE OPERATOR pg_temp.= (LEFTARG = pg_catalog.uuid, RIGHTARG = pg_catalog.uuid,"
    " FUNCTION = pg_temp.spy_equals)",
)


@dataclass
class Attacker:
    """A login's connection in one transaction, rolled back at the end."""

    login: str
    connection: psycopg.Connection[tuple[object, ...]]
    notices: list[str] = field(default_factory=list)

    def execute(
        self, statement: str, parameters: tuple[object, ...] | None = None
    ) -> list[tuple[object, ...]]:
        cursor = self.connection.execute(statement, parameters)
        return cursor.fetchall() if cursor.description else []

    def plant_shadows(self) -> None:
        """Temporary objects under the names every definer uses (needs TEMPORARY)."""
        self.execute(SPY)
        self.execute(SPY_EQUALS)
        for name, base in SHADOWED_TYPES.items():
            self.execute(f"CREATE DOMAIN pg_temp.{name} AS {base} CHECK (pg_temp.spy(VALUE))")
        for table in SHADOWED_TABLES:
            self.execute(f"CREATE TEMPORARY TABLE {table} (id int)")
        for statement in SHADOWED_FUNCTIONS:
            self.execute(statement)

    def identities_the_spy_ran_as(self) -> set[str]:
        return {m.group(1) for n in self.notices if (m := re.match(r"spy ran as (\S+)", n))}

    def escalated(self) -> set[str]:
        """Identities other than its own that the attacker's code ran with."""
        return self.identities_the_spy_ran_as() - {self.login}

    def owns_the_schema(self) -> bool:
        return bool(
            self.execute("SELECT pg_has_role(session_user, %s, 'MEMBER')", (SCHEMA_OWNER_ROLE,))[0][
                0
            ]
        )


@contextmanager
def attacker(url: str, login: str) -> Iterator[Attacker]:
    conninfo = make_url(url).set(drivername="postgresql", username=login)
    with psycopg.connect(conninfo.render_as_string(hide_password=False)) as connection:
        attack = Attacker(login, connection)
        connection.add_notice_handler(lambda notice: attack.notices.append(notice.message_primary))
        try:
            yield attack
        finally:
            connection.rollback()
