from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session

from tests.factories import make_course, make_document, make_user
from tests.rls import SeededLearner


def owner_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class World:
    """Two learners (the attacker acts as ``mine``; ``theirs`` is the victim) and
    three pending uploads of one PDF, for the worker's paths."""

    mine: SeededLearner
    theirs: SeededLearner
    pending: tuple[uuid.UUID, uuid.UUID, uuid.UUID]


@pytest.fixture(scope="module")
def world(shared_engine: Engine, learners: tuple[SeededLearner, SeededLearner]) -> World:
    with Session(shared_engine) as session:
        pending = tuple(
            make_document(session, make_course(session, make_user(session)), "one pdf").document_id
            for _ in range(3)
        )
        session.commit()
    return World(learners[0], learners[1], pending)  # type: ignore[arg-type]


TemporaryGrant = Callable[[str], AbstractContextManager[None]]


@pytest.fixture
def temporary_granted(shared_database: str) -> TemporaryGrant:
    """TEMPORARY granted to one login for the length of a block, as a database
    whose privileges were lost (a restore, a clone) would leave it."""

    @contextmanager
    def granted(login: str) -> Iterator[None]:
        dbname = make_url(shared_database).database
        with psycopg.connect(owner_conninfo(shared_database), autocommit=True) as owner:
            grant = sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}")
            revoke = sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM {}")
            names = (sql.Identifier(dbname or ""), sql.Identifier(login))
            owner.execute(grant.format(*names))
            try:
                yield
            finally:
                owner.execute(revoke.format(*names))

    return granted
