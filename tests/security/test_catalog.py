"""The catalog keeps the promises no single attack shows: every SECURITY DEFINER
function lists pg_temp last and runs as a role with exactly its declared rights,
nothing in the schema belongs to a login, and no login's role may create
temporary objects. Each rule is a query; its control is a function or grant made
to break it, inside a rolled-back transaction, which the same query reports."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from sensa_db.security import (
    APP_ROLE,
    DATABASE_TEMPORARY,
    DEFINER_ROLES,
    DEFINER_SEARCH_PATH,
    DEFINERS,
    RESTRICTED_FUNCTIONS,
    ROLES,
    SCHEMA_OWNER_ROLE,
)
from tests.postgres import PostgresServer

OUR_FUNCTIONS = """
    SELECT p.oid::regprocedure AS function, p.prosecdef AS definer,
           p.proowner::regrole::text AS owner, coalesce(p.proconfig, '{}') AS config,
           p.proacl IS NULL AS default_acl
    FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
        AND NOT EXISTS (
            SELECT FROM pg_depend d
            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        )
"""


def definers_breaking_the_path_rule(connection: Connection) -> set[str]:
    """Definers in any schema but the extensions' whose path does not end in pg_temp,
    or names a schema other than pg_catalog before it."""
    rows = connection.execute(
        text(
            """
            SELECT p.oid::regprocedure::text, coalesce(p.proconfig, '{}')
            FROM pg_proc p
            WHERE p.prosecdef
                AND p.pronamespace NOT IN (
                    'pg_catalog'::regnamespace, 'information_schema'::regnamespace
                )
                AND NOT EXISTS (
                    SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                )
            """
        )
    )
    return {name for name, config in rows if f"search_path={DEFINER_SEARCH_PATH}" not in config}


def test_every_definer_lists_pg_temp_last(connection: Connection) -> None:
    assert definers_breaking_the_path_rule(connection) == set()


def test_control_a_definer_with_an_empty_path_is_reported(owner_connection: Connection) -> None:
    owner_connection.execute(text("SET LOCAL ROLE NONE"))
    owner_connection.execute(
        text(
            "CREATE FUNCTION public.steerable() RETURNS int LANGUAGE sql SECURITY DEFINER"
            " SET search_path = '' AS $$ SELECT 1 $$"
        )
    )
    assert definers_breaking_the_path_rule(owner_connection) == {"steerable()"}


def test_the_declared_definers_are_the_only_ones_and_run_as_their_roles(
    connection: Connection,
) -> None:
    definers = {
        str(row.function): row.owner
        for row in connection.execute(text(OUR_FUNCTIONS))
        if row.definer
    }
    assert definers == dict(DEFINERS)


def test_the_schema_belongs_to_its_nologin_owner_and_the_definer_roles(
    connection: Connection,
) -> None:
    owners = set(
        connection.scalars(
            text(
                """
                SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S', 'v')
                    AND NOT EXISTS (
                        SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e'
                    )
                UNION
                SELECT DISTINCT pg_get_userbyid(t.typowner) FROM pg_type t
                WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
                """
            )
        )
    )
    assert owners == {SCHEMA_OWNER_ROLE}
    function_owners = {row.owner for row in connection.execute(text(OUR_FUNCTIONS))}
    assert function_owners <= {SCHEMA_OWNER_ROLE, *DEFINER_ROLES}


@pytest.mark.parametrize("role", [*DEFINER_ROLES, SCHEMA_OWNER_ROLE])
def test_no_owner_can_log_in_or_make_roles_or_databases(connection: Connection, role: str) -> None:
    attributes = connection.execute(
        text(
            "SELECT rolcanlogin, rolcreaterole, rolcreatedb, rolsuper, rolbypassrls"
            " FROM pg_roles WHERE rolname = :role"
        ),
        {"role": role},
    ).one()
    assert tuple(attributes) == (False, False, False, False, False)


def test_functions_grant_execute_only_as_declared(connection: Connection) -> None:
    """A function not in RESTRICTED_FUNCTIONS keeps PostgreSQL's default (EXECUTE for
    PUBLIC, nothing else); the restricted ones are checked role by role in
    tests/test_rls_catalog.py."""
    granted_beyond_default = {
        str(row.function)
        for row in connection.execute(text(OUR_FUNCTIONS))
        if not row.default_acl and str(row.function) not in RESTRICTED_FUNCTIONS
    }
    assert granted_beyond_default == set()


def roles_with_temporary(connection: Connection) -> set[str]:
    return {
        role
        for role in ("public", *ROLES)
        if connection.scalar(
            text("SELECT has_database_privilege(:role, current_database(), 'TEMPORARY')"),
            {"role": role},
        )
    } - {SCHEMA_OWNER_ROLE}


def test_only_staff_may_create_temporary_objects(connection: Connection) -> None:
    assert roles_with_temporary(connection) == DATABASE_TEMPORARY


def test_control_temporary_granted_is_reported(owner_connection: Connection) -> None:
    owner_connection.execute(text("SET LOCAL ROLE NONE"))
    database = owner_connection.scalar(text("SELECT current_database()"))
    owner_connection.execute(text(f'GRANT TEMPORARY ON DATABASE "{database}" TO {APP_ROLE}'))
    assert roles_with_temporary(owner_connection) == DATABASE_TEMPORARY | {APP_ROLE}


def test_the_revision_itself_sets_who_may_create_temporary_objects(
    pg_server: PostgresServer, head_template: str
) -> None:
    """On the database alembic built (the tests' clones get the same from
    local_cluster.create_database, since CREATE DATABASE copies no privileges)."""
    with pg_server.connect(head_template) as owner:
        allowed = {
            role
            for role in ("public", *ROLES)
            if owner.execute(
                "SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')", (role,)
            ).fetchone()
            == (True,)
        }
    assert allowed - {SCHEMA_OWNER_ROLE} == DATABASE_TEMPORARY
