"""Asserting that the database refuses a statement, and why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from psycopg import errors as pg_errors
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


@contextmanager
def refused(
    connection: Connection,
    sqlstate: str,
    *,
    constraint: str | None = None,
    message: str | None = None,
) -> Iterator[None]:
    """The block fails with ``sqlstate``, and with ``constraint`` and ``message`` if given.

    Runs the block in a savepoint, so the test's transaction stays usable.
    """
    with pytest.raises(DBAPIError) as caught, connection.begin_nested():
        yield
    error = caught.value.orig
    assert isinstance(error, pg_errors.Error)
    text = error.diag.message_primary or ""
    assert error.sqlstate == sqlstate, text
    if constraint is not None:
        assert error.diag.constraint_name == constraint, text
    if message is not None:
        assert message in text
