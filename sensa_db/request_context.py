"""The learner a transaction acts for, as the API tells the database.

Row-level security reads the learner through ``public.current_learner_id()``,
which honours only a learner named by ``public.set_current_user_id`` in the
same transaction (``set_config(..., true)``): on a pooled connection the name
ends with the transaction that set it, committed or rolled back, and a
session-level ``SET app.current_user_id`` names no one. A transaction that
does not name a learner sees no learner's rows and can write none.

With the ORM, open each request's session through :func:`learner_session`
(:func:`async_learner_session` on SQLAlchemy's asyncio extension): every
transaction the session begins names the learner first::

    SessionFactory = sessionmaker(make_engine())

    with learner_session(SessionFactory, current_user.id) as session:
        courses = session.scalars(select(Course)).all()   # this learner's only
        session.commit()

With a Core connection, call :func:`set_transaction_user` inside the
transaction. Works with psycopg 3 (sync and async) and psycopg2 URLs alike.

Naming the learner costs one round trip per transaction, the
``set_current_user_id`` call (psycopg 3 waits for BEGIN's reply even in
pipeline mode, so the two cannot share one). What that costs beside a bare
statement: ``python -m sensa_db_tools.benchmark.round_trips`` (docs/OPERATIONS.md).

The same statement reads whether the login is a member of ``sensa_app``: one
that is not (the schema's owner, the worker's login) would act for no learner
and see no row, silently. It raises :class:`WrongLogin` instead, and a database
without the request-context function raises
:class:`sensa_db.database.SchemaNotAtHead`; both say what to do in one line.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from sensa_db.database import lacking_schema, reporting_missing_schema, sqlstate
from sensa_db.security import APP_ROLE

LEARNER_INFO_KEY = "sensa_db.learner_id"
INSUFFICIENT_PRIVILEGE = "42501"

# A text parameter cast in SQL: psycopg2 does not adapt uuid.UUID by itself.
# pg_has_role() rides in the same statement, so the check costs no round trip.
_SET_CURRENT_USER_ID = text(
    "SELECT public.set_current_user_id(CAST(:user_id AS uuid)),"
    f" pg_catalog.pg_has_role('{APP_ROLE}', 'USAGE')"
)
_MEMBERSHIP = text(
    "SELECT pg_catalog.pg_has_role(r.oid, 'USAGE') AS member,"
    " current_user = session_user AS as_login"
    " FROM pg_catalog.pg_roles r WHERE r.rolname = :role"
)


class WrongLogin(RuntimeError):  # noqa: N818 - the name says what is wrong
    """The connection's login lacks the group role the call needs; the message names the fix."""


def wrong_login(connection: Connection, role: str, consequence: str) -> WrongLogin:
    """The one line for a login outside ``role``: what follows from it, and the GRANT."""
    return WrongLogin(
        f"login {connection.engine.url.username!r} is not a member of {role}, so {consequence}:"
        f" connect as a login that is (GRANT {role} TO <login>), never as the schema's owner"
    )


def _not_an_api_login(connection: Connection) -> WrongLogin:
    return wrong_login(connection, APP_ROLE, "it acts for no learner and sees none of their rows")


def set_transaction_user(connection: Connection, user_id: uuid.UUID | None) -> None:
    """Make the connection's current transaction act for ``user_id`` (None: for no one).

    Raises :class:`WrongLogin` when the login is not a member of ``sensa_app``.
    """
    parameters = {"user_id": None if user_id is None else str(user_id)}
    with reporting_missing_schema(connection):
        try:
            _, in_app_role = connection.execute(_SET_CURRENT_USER_ID, parameters).one()
        except DBAPIError as exc:
            # EXECUTE is sensa_app's alone; the owner has it too, hence the check below.
            if sqlstate(exc) == INSUFFICIENT_PRIVILEGE:
                raise _not_an_api_login(connection) from None
            raise
    if not in_app_role:
        raise _not_an_api_login(connection)


def require_role(connection: Connection, role: str, consequence: str) -> None:
    """Raise :class:`WrongLogin` unless the connection's login has ``role``'s privileges.

    Asked once per database connection (a yes is kept in its ``info`` while
    it holds), so a pooled connection pays it once, not per call; under ``SET
    ROLE`` it is asked every time, as the role may change back.
    """
    known = connection.connection.info
    key = f"sensa_db.member_of.{role}"
    if known.get(key):
        return
    answer = connection.execute(_MEMBERSHIP, {"role": role}).one_or_none()
    if answer is None:
        raise lacking_schema(connection.engine.url.database, f"role {role} does not exist")
    if not answer.member:
        raise wrong_login(connection, role, consequence)
    known[key] = answer.as_login


def _name_the_learner(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    learner: uuid.UUID | None = session.info.get(LEARNER_INFO_KEY)
    set_transaction_user(connection, learner)


def _act_for(session: Session, user_id: uuid.UUID) -> None:
    session.info[LEARNER_INFO_KEY] = user_id
    event.listen(session, "after_begin", _name_the_learner)


@contextmanager
def learner_session(
    session_factory: Callable[[], Session], user_id: uuid.UUID
) -> Iterator[Session]:
    """A session whose every transaction acts for ``user_id``, closed on exit."""
    with session_factory() as session:
        _act_for(session, user_id)
        yield session


@asynccontextmanager
async def async_learner_session(
    session_factory: Callable[[], AsyncSession], user_id: uuid.UUID
) -> AsyncIterator[AsyncSession]:
    """:func:`learner_session` for an ``AsyncSession`` (``async_sessionmaker``)."""
    async with session_factory() as session:
        _act_for(session.sync_session, user_id)
        yield session
