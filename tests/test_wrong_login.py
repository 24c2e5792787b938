"""A login outside the group role a call needs (the schema's owner, the worker's login
in the API) is told so in one line naming the GRANT, instead of acting for no one and
seeing no row; a database without the package's schema says so in one line too."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import Engine, create_engine, make_url, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from sensa_db.database import SchemaNotAtHead, make_async_engine
from sensa_db.models import Course
from sensa_db.pipeline import ClaimOutcome, claim_document, claim_next_document
from sensa_db.request_context import (
    WrongLogin,
    async_learner_session,
    learner_session,
    set_transaction_user,
)
from sensa_db.security import ADMIN_ROLE, APP_ROLE, WORKER_ROLE
from tests.pipeline_world import PIPELINE_VERSION, upload_as_admin
from tests.rls import SeededLearner, as_login

OWNER = "owner"
DRIVERS = ["postgresql+psycopg", "postgresql+psycopg2"]


def login_url(database_url: str, login: str, driver: str = "postgresql+psycopg") -> str:
    """``database_url`` as the owner (OWNER) or as the test login of a group role."""
    url = database_url if login == OWNER else as_login(database_url, login)
    return make_url(url).set(drivername=driver).render_as_string(hide_password=False)


def engine_as(database_url: str, login: str, driver: str = "postgresql+psycopg") -> Engine:
    return create_engine(login_url(database_url, login, driver), poolclass=NullPool)


def wrong_login_line(login: str, role: str, consequence: str) -> str:
    return (
        f"login {login!r} is not a member of {role}, so {consequence}: connect as a login"
        f" that is (GRANT {role} TO <login>), never as the schema's owner"
    )


NOT_A_LEARNER = "it acts for no learner and sees none of their rows"
NOT_A_WORKER = "it can claim and record no document"


def username(engine: Engine) -> str:
    return str(engine.url.username)


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("login", [OWNER, WORKER_ROLE, ADMIN_ROLE])
def test_a_learner_session_outside_sensa_app_is_refused_in_one_line(
    shared_database: str,
    test_logins: None,
    learners: tuple[SeededLearner, SeededLearner],
    login: str,
    driver: str,
) -> None:
    first, _ = learners
    api = engine_as(shared_database, APP_ROLE, driver)
    wrong = engine_as(shared_database, login, driver)
    try:
        # The control: the API's login sees its learner's course.
        with learner_session(sessionmaker(api), first.user_id) as session:
            assert set(session.scalars(select(Course.course_id))) == {first.course_id}
        with (
            learner_session(sessionmaker(wrong), first.user_id) as session,
            pytest.raises(WrongLogin) as refused,
        ):
            session.scalars(select(Course.course_id)).all()
        assert str(refused.value) == wrong_login_line(username(wrong), APP_ROLE, NOT_A_LEARNER)
    finally:
        api.dispose()
        wrong.dispose()


def test_the_owner_would_otherwise_see_nothing_silently(
    shared_database: str, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    """Why the owner needs the check: FORCEd row-level security names no policy for it,
    so a plain session of the owner finds none of the rows the learner has."""
    owner = engine_as(shared_database, OWNER)
    try:
        with Session(owner) as session:
            assert list(session.scalars(select(Course.course_id))) == []
    finally:
        owner.dispose()


def test_the_core_helper_refuses_a_login_outside_sensa_app(
    shared_database: str, test_logins: None, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    admin = engine_as(shared_database, ADMIN_ROLE)
    try:
        with admin.begin() as connection, pytest.raises(WrongLogin, match="GRANT sensa_app TO"):
            set_transaction_user(connection, learners[0].user_id)
    finally:
        admin.dispose()


@pytest.mark.parametrize("login", [OWNER, WORKER_ROLE])
def test_an_async_learner_session_outside_sensa_app_is_refused_in_one_line(
    shared_database: str,
    test_logins: None,
    learners: tuple[SeededLearner, SeededLearner],
    login: str,
) -> None:
    first, _ = learners

    async def scenario() -> None:
        engine = make_async_engine(login_url(shared_database, login), poolclass=NullPool)
        try:
            async with async_learner_session(async_sessionmaker(engine), first.user_id) as session:
                with pytest.raises(WrongLogin) as refused:
                    await session.scalars(select(Course.course_id))
            assert str(refused.value) == wrong_login_line(
                str(engine.url.username), APP_ROLE, NOT_A_LEARNER
            )
        finally:
            await engine.dispose()

    asyncio.run(scenario())


@pytest.mark.parametrize("login", [OWNER, APP_ROLE])
def test_the_worker_outside_sensa_worker_is_refused_instead_of_polling_forever(
    shared_database: str, shared_engine: Engine, test_logins: None, login: str
) -> None:
    (upload,) = upload_as_admin(shared_engine, f"waiting {uuid.uuid4()}")
    wrong = engine_as(shared_database, login)
    worker = engine_as(shared_database, WORKER_ROLE)
    try:
        with wrong.connect() as connection:
            with pytest.raises(WrongLogin) as polled:
                claim_next_document(connection, "worker-w", PIPELINE_VERSION)
            assert str(polled.value) == wrong_login_line(username(wrong), WORKER_ROLE, NOT_A_WORKER)
            connection.rollback()
            # Named, the document is not "unknown" to it: the login is what is wrong.
            with pytest.raises(WrongLogin):
                claim_document(connection, upload.document_id, "worker-w", PIPELINE_VERSION)
        # The control: the worker's login claims the same document.
        with worker.connect() as connection:
            claim = claim_document(connection, upload.document_id, "worker-w", PIPELINE_VERSION)
            connection.rollback()
        assert claim.outcome is ClaimOutcome.CLAIMED
    finally:
        wrong.dispose()
        worker.dispose()


def test_first_use_on_an_unmigrated_database_is_one_line(
    empty_database: str, test_logins: None
) -> None:
    database = make_url(empty_database).database
    api = engine_as(empty_database, APP_ROLE)
    worker = engine_as(empty_database, WORKER_ROLE)
    try:
        with (
            learner_session(sessionmaker(api), uuid.uuid4()) as session,
            pytest.raises(SchemaNotAtHead) as learner_call,
        ):
            session.scalars(select(Course.course_id)).all()
        assert str(learner_call.value) == (
            f"database {database!r} is unmigrated or behind this package (function"
            " public.set_current_user_id(uuid) does not exist): run `alembic upgrade head`"
        )
        with worker.connect() as connection, pytest.raises(SchemaNotAtHead) as worker_call:
            claim_next_document(connection, "worker-w", PIPELINE_VERSION)
        assert str(worker_call.value).startswith(
            f"database {database!r} is unmigrated or behind this package (function"
            " public.claim_next_document("
        )
    finally:
        api.dispose()
        worker.dispose()
