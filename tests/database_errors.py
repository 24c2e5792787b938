"""Asserting that the database refuses a statement, and why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from psycopg import errors as pg_errors
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


@dataclass
class Refusal:
    sqlstate: str | None = None
    constraint: str | None = None
    message: str | None = None


@contextmanager
def refused(
    connection: Connection,
    sqlstate: str,
    *,
    constraint: str | None = None,
    message: str | None = None,
) -> Iterator[Refusal]:
    """The block fails with ``sqlstate`` (and ``constraint``, and ``message`` in its text).

    Runs the block in a savepoint, so the test's transaction stays usable.
    """
    refusal = Refusal()
    with pytest.raises(DBAPIError) as caught, connection.begin_nested():
        yield refusal
    error = caught.value.orig
    assert isinstance(error, pg_errors.Error)
    refusal.sqlstate = error.sqlstate
    refusal.constraint = error.diag.constraint_name
    refusal.message = error.diag.message_primary
    assert (refusal.sqlstate, refusal.constraint) == (
        sqlstate,
        constraint if constraint is not None else refusal.constraint,
    ), refusal.message
    if message is not None:
        assert refusal.message is not None
        assert message in refusal.message
