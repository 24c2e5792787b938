"""The catalog matches what sensa_db/security.py declares: every table's RLS stance,
every grant, the roles' attributes, and the shape of every policy and function."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import Connection, text

from sensa_db.models import metadata
from sensa_db.security import (
    APP_ROLE,
    CONTEXT_SETTING,
    GRANTS,
    LOGIN_ROLES,
    RESTRICTED_FUNCTIONS,
    RLS_TABLES,
    ROLES,
    SCHEMA_OWNER_ROLE,
    TABLES_WITHOUT_RLS,
    WORKER_ROLE,
)

OWN_TABLES = """
    SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
        AND NOT EXISTS (
            SELECT FROM pg_depend d
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
        )
"""


def test_every_table_states_its_stance() -> None:
    assert not RLS_TABLES.keys() & TABLES_WITHOUT_RLS.keys()
    assert set(metadata.tables) <= RLS_TABLES.keys() | TABLES_WITHOUT_RLS.keys()


def test_row_level_security_is_enabled_and_forced_exactly_as_declared(
    connection: Connection,
) -> None:
    actual = {
        row.relname: (row.relrowsecurity, row.relforcerowsecurity)
        for row in connection.execute(text(OWN_TABLES))
    }
    declared = {table: (True, True) for table in RLS_TABLES} | {
        table: (False, False) for table in TABLES_WITHOUT_RLS
    }
    assert actual == declared


def test_grants_on_our_tables_are_exactly_the_declared_ones(connection: Connection) -> None:
    rows = connection.execute(
        text(
            f"""
            WITH own AS ({OWN_TABLES})
            SELECT own.relname, coalesce(r.rolname, 'PUBLIC') AS grantee, acl.privilege_type
            FROM own JOIN pg_class c ON c.oid = own.oid,
                 aclexplode(c.relacl) acl LEFT JOIN pg_roles r ON r.oid = acl.grantee
            WHERE acl.grantee <> c.relowner
            UNION ALL
            SELECT own.relname, coalesce(r.rolname, 'PUBLIC'),
                   acl.privilege_type || '(' || a.attname || ')'
            FROM own JOIN pg_attribute a ON a.attrelid = own.oid AND a.attacl IS NOT NULL,
                 aclexplode(a.attacl) acl LEFT JOIN pg_roles r ON r.oid = acl.grantee
            """
        )
    )
    actual: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for table, grantee, privilege in rows:
        actual[grantee][table].add(privilege)
    assert {role: dict(tables) for role, tables in actual.items()} == {
        role: {table: set(privileges) for table, privileges in tables.items()}
        for role, tables in GRANTS.items()
    }


@pytest.mark.parametrize("role", ROLES)
def test_roles_are_group_roles_without_bypass_or_admin_powers(
    connection: Connection, role: str
) -> None:
    attributes = connection.execute(
        text(
            "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb,"
            " rolreplication FROM pg_roles WHERE rolname = :role"
        ),
        {"role": role},
    ).one()
    assert tuple(attributes) == (False, False, False, False, False, False)


@pytest.mark.parametrize("member", [APP_ROLE, WORKER_ROLE])
def test_app_and_worker_are_not_members_of_a_broader_role(
    connection: Connection, member: str
) -> None:
    broader = [role for role in ROLES if role != member]
    memberships = connection.execute(
        text(
            "SELECT r FROM unnest(CAST(:roles AS text[])) r WHERE pg_has_role(:member, r, 'MEMBER')"
        ),
        {"roles": broader, "member": member},
    ).scalars()
    assert list(memberships) == []


def test_the_application_role_owns_nothing_in_any_database(connection: Connection) -> None:
    owned = connection.scalar(
        text(
            "SELECT count(*) FROM pg_shdepend"
            " WHERE refclassid = 'pg_authid'::regclass AND refobjid = CAST(:role AS regrole)"
            " AND deptype = 'o'"
        ),
        {"role": APP_ROLE},
    )
    assert owned == 0


def test_only_the_schema_owner_may_create_in_the_schema(connection: Connection) -> None:
    public_creates = connection.scalar(
        text(
            "SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) acl"
            " WHERE n.nspname = 'public' AND acl.grantee = 0 AND acl.privilege_type = 'CREATE'"
        )
    )
    assert public_creates == 0
    can_create = {
        role
        for role in ROLES
        if connection.scalar(
            text("SELECT has_schema_privilege(:role, 'public', 'CREATE')"), {"role": role}
        )
    }
    assert can_create == {SCHEMA_OWNER_ROLE}


def test_every_function_of_ours_pins_its_search_path(connection: Connection) -> None:
    functions = connection.execute(
        text(
            """
            SELECT p.oid::regprocedure::text AS name,
                   EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%') AS pinned
            FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
                AND NOT EXISTS (
                    SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                )
            """
        )
    ).all()
    assert "set_current_user_id(uuid)" in {f.name for f in functions}
    assert {f.name for f in functions if not f.pinned} == set()


def test_restricted_functions_run_only_for_the_declared_roles(connection: Connection) -> None:
    """EXECUTE is revoked from PUBLIC: of the roles a login may hold, only the
    declared ones may call each (set_current_user_id() the API alone)."""
    assert "set_current_user_id(uuid)" in RESTRICTED_FUNCTIONS
    can_execute = {
        (function, role)
        for function in RESTRICTED_FUNCTIONS
        for role in LOGIN_ROLES
        if connection.scalar(
            text("SELECT has_function_privilege(:role, :function, 'EXECUTE')"),
            {"role": role, "function": f"public.{function}"},
        )
    }
    assert can_execute == {
        (function, role) for function, roles in RESTRICTED_FUNCTIONS.items() for role in roles
    }


def _policies(connection: Connection) -> list[dict[str, object]]:
    return [
        dict(row._mapping)
        for row in connection.execute(
            text(
                "SELECT tablename, policyname, permissive, roles, cmd, qual, with_check"
                " FROM pg_policies WHERE schemaname = 'public'"
            )
        )
    ]


def test_every_policy_names_one_of_our_roles(connection: Connection) -> None:
    assert {
        (p["policyname"], tuple(p["roles"]))  # type: ignore[arg-type]
        for p in _policies(connection)
        if len(p["roles"]) != 1 or p["roles"][0] not in ROLES  # type: ignore[index, arg-type]
    } == set()


def test_no_learner_policy_is_unconditional(connection: Connection) -> None:
    learner_policies = [p for p in _policies(connection) if APP_ROLE in p["roles"]]  # type: ignore[operator]
    assert learner_policies
    unconditional = [
        p["policyname"] for p in learner_policies if "true" in (p["qual"], p["with_check"])
    ]
    assert unconditional == []
    assert all(p["permissive"] == "PERMISSIVE" for p in learner_policies)


@pytest.mark.parametrize("table", sorted(RLS_TABLES))
def test_each_table_has_one_learner_policy_per_command_and_checks_writes(
    connection: Connection, table: str
) -> None:
    policies = {
        p["cmd"]: p
        for p in _policies(connection)
        if p["tablename"] == table and APP_ROLE in p["roles"]  # type: ignore[operator]
    }
    assert sorted(policies) == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    assert policies["INSERT"]["with_check"] is not None
    assert policies["UPDATE"]["with_check"] is not None
    assert policies["UPDATE"]["qual"] is not None


# The sub-select makes the context an InitPlan, evaluated once per statement;
# current_learner_id() is the one place that reads the setting (and fails closed).
LEARNER_CONTEXT = "( SELECT current_learner_id() AS current_learner_id)"


def test_learner_policies_read_the_context_through_one_function(connection: Connection) -> None:
    learner_policies = [p for p in _policies(connection) if APP_ROLE in p["roles"]]  # type: ignore[operator]
    assert learner_policies
    for policy in learner_policies:
        expressions = [str(e) for e in (policy["qual"], policy["with_check"]) if e is not None]
        assert expressions
        assert all(LEARNER_CONTEXT in e for e in expressions), policy["policyname"]
        assert not any(CONTEXT_SETTING in e for e in expressions), policy["policyname"]


@pytest.mark.parametrize("table", sorted(RLS_TABLES))
def test_the_columns_policies_filter_on_lead_an_index(connection: Connection, table: str) -> None:
    leading = set(
        connection.scalars(
            text(
                "SELECT a.attname FROM pg_index x"
                " JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]"
                " WHERE x.indrelid = CAST(:table AS regclass)"
            ),
            {"table": table},
        )
    )
    assert set(RLS_TABLES[table]) <= leading


def test_the_context_is_an_initplan_and_the_policy_uses_the_index(
    app_connection: Connection,
) -> None:
    app_connection.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(app_connection.scalars(text("EXPLAIN SELECT * FROM keywords")).all())
    assert "InitPlan" in plan
    assert "idx_keywords_user_id" in plan
    # The owner is stamped on the row: the policy reads no other table.
    assert not {"courses", "course_documents", "chapters"} & set(plan.replace("_", " ").split())
