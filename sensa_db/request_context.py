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
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

LEARNER_INFO_KEY = "sensa_db.learner_id"

# A text parameter cast in SQL: psycopg2 does not adapt uuid.UUID by itself.
_SET_CURRENT_USER_ID = text("SELECT public.set_current_user_id(CAST(:user_id AS uuid))")


def set_transaction_user(connection: Connection, user_id: uuid.UUID | None) -> None:
    """Make the connection's current transaction act for ``user_id`` (None: for no one)."""
    connection.execute(_SET_CURRENT_USER_ID, {"user_id": None if user_id is None else str(user_id)})


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
