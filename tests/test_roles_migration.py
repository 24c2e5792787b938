"""The row-level-security revision on a cluster it shares: it runs as a non-superuser
owner (as on RDS), finds the roles already there, and its downgrade leaves the roles
to the other databases that use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from sensa_db.models import metadata
from sensa_db.request_context import set_transaction_user
from sensa_db.security import ADMIN_ROLE, APP_ROLE, RLS_TABLES, ROLES
from tests.postgres import EXTENSIONS_TEMPLATE, PostgresServer, alembic_config, upgrade
from tests.rls import INSUFFICIENT_PRIVILEGE, as_login, seed_learner, sqlstate, visible

INITIAL_REVISION = "125f5be7b1c8"


def _scalar(url: str, sql: str, **params: object) -> object:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.scalar(text(sql), params)
    finally:
        engine.dispose()


@pytest.fixture
def second_empty_database(pg_server: PostgresServer) -> Iterator[str]:
    with pg_server.database(template=EXTENSIONS_TEMPLATE) as dbname:
        yield pg_server.url(dbname)


def test_migrations_run_as_an_owner_without_superuser_or_bypassrls(empty_database: str) -> None:
    engine = create_engine(empty_database, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            me = connection.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles"
                    " WHERE rolname = current_user"
                )
            ).one()
            assert tuple(me) == (False, False, True)
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()
    assert _scalar(empty_database, "SELECT count(*) FROM pg_policies") > 0  # type: ignore[operator]


def _downgrade(url: str, revision: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        command.downgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()


def _app_sees_own_course(url: str) -> None:
    admin = create_engine(as_login(url, ADMIN_ROLE), poolclass=NullPool)
    app = create_engine(as_login(url, APP_ROLE), poolclass=NullPool)
    try:
        with Session(admin) as session:
            learner = seed_learner(session)
            session.commit()
        with app.begin() as connection:
            set_transaction_user(connection, learner.user_id)
            assert visible(connection, "courses") == {learner.course_id}
    finally:
        admin.dispose()
        app.dispose()


@pytest.mark.slow
def test_downgrading_one_database_leaves_the_roles_to_another(
    empty_database: str, second_empty_database: str, test_logins: None
) -> None:
    upgrade(empty_database)
    upgrade(second_empty_database)  # the roles exist already: created once, reused
    _downgrade(empty_database, INITIAL_REVISION)

    assert _scalar(
        empty_database,
        "SELECT count(*) FROM pg_roles WHERE rolname = ANY(:roles)",
        roles=list(ROLES),
    ) == len(ROLES)
    granted_in_schema = (
        "SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) acl"
        " WHERE acl.grantee IN (SELECT oid FROM pg_roles WHERE rolname = ANY(:roles))"
    )
    assert _scalar(empty_database, granted_in_schema, roles=list(ROLES)) == 0
    assert _scalar(empty_database, "SELECT count(*) FROM pg_policies") == 0
    assert (
        _scalar(
            empty_database,
            "SELECT count(*) FROM pg_class WHERE relrowsecurity OR relforcerowsecurity",
        )
        == 0
    )
    assert (
        _scalar(
            empty_database,
            "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) acl"
            " WHERE acl.grantee IN (SELECT oid FROM pg_roles WHERE rolname = ANY(:roles))",
            roles=list(ROLES),
        )
        == 0
    )
    assert (
        _scalar(empty_database, "SELECT to_regprocedure('public.set_current_user_id(uuid)')")
        is None
    )

    _app_sees_own_course(second_empty_database)
    upgrade(empty_database)
    _app_sees_own_course(empty_database)


def test_the_owner_is_subject_to_row_level_security_too(
    migrated_database: str, test_logins: None
) -> None:
    admin = create_engine(as_login(migrated_database, ADMIN_ROLE), poolclass=NullPool)
    owner = create_engine(migrated_database, poolclass=NullPool)
    try:
        with Session(admin) as session:
            learner = seed_learner(session)
            session.commit()
        with owner.connect() as connection:
            for table in RLS_TABLES:
                assert visible(connection, table) == frozenset(), table
            connection.rollback()
            _owner_cannot_insert(connection, learner.user_id)
    finally:
        admin.dispose()
        owner.dispose()


def _owner_cannot_insert(connection: Connection, user_id: object) -> None:
    with pytest.raises(DBAPIError) as caught, connection.begin():
        connection.execute(insert(metadata.tables["courses"]).values(user_id=user_id, name="x"))
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert 'row-level security policy for table "courses"' in str(caught.value)
