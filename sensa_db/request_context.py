"""The learner a transaction acts for, as the API tells the database.

Row-level security reads ``app.current_user_id``; it is set per transaction
(``set_config(..., true)`` inside ``public.set_current_user_id``), so on a
pooled connection it ends with the transaction that set it, committed or
rolled back, and the next request starts without one. A transaction that does
not set it sees no learner's rows and can write none.

With the ORM, open each request's session through :func:`learner_session`: every
transaction the session begins names the learner first::

    SessionFactory = sessionmaker(make_engine())

    with learner_session(SessionFactory, current_user.id) as session:
        courses = session.scalars(select(Course)).all()   # this learner's only
        session.commit()

With a Core connection, call :func:`set_transaction_user` inside the
transaction. Works with psycopg 3 and psycopg2 URLs alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, event, text
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


@contextmanager
def learner_session(
    session_factory: Callable[[], Session], user_id: uuid.UUID
) -> Iterator[Session]:
    """A session whose every transaction acts for ``user_id``, closed on exit."""
    with session_factory() as session:
        session.info[LEARNER_INFO_KEY] = user_id
        event.listen(session, "after_begin", _name_the_learner)
        yield session
