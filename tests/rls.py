"""Helpers for tests that run as the application's roles, never as the owner.

The revision creates the NOLOGIN group roles; ``ensure_test_logins`` adds a
login member for each (``sensa_test_app`` in ``sensa_app`` and so on), as a
deployment would (``GRANT sensa_app TO api_login``). Connected as one of them,
a test has exactly that role's grants and policies. Fixtures built on these
live in tests/conftest.py: ``app_engine``, ``worker_engine``, ``admin_engine``
and ``app_connection`` (a rolled-back transaction as sensa_app).

A test of a function under row-level security, in a few lines::

    def test_search_courses_stays_in_the_learner(app_connection, learners):
        a, b = learners  # SeededLearner ids, committed by an admin (see test_rls_policies.py)
        set_transaction_user(app_connection, a.user_id)
        found = set(app_connection.scalars(text("SELECT course_id FROM search_courses('Cell')")))
        assert a.course_id in found and b.course_id not in found
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, make_url, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from sensa_db.models import metadata
from sensa_db.security import ADMIN_ROLE, APP_ROLE, BACKUP_ROLE, RLS_TABLES, WORKER_ROLE
from sensa_db_tools.local_cluster import ensure_login_members
from tests.factories import LearnerGraph, make_learner_graph
from tests.postgres import EXTENSIONS_TEMPLATE, PostgresServer

TEST_LOGINS = {
    APP_ROLE: "sensa_test_app",
    WORKER_ROLE: "sensa_test_worker",
    ADMIN_ROLE: "sensa_test_admin",
    BACKUP_ROLE: "sensa_test_backup",
}

INSUFFICIENT_PRIVILEGE = "42501"


def ensure_test_logins(server: PostgresServer) -> None:
    """Create the test login members of the group roles, if missing (cluster-wide)."""
    with server.connect(EXTENSIONS_TEMPLATE, autocommit=True) as owner:
        ensure_login_members(owner, TEST_LOGINS, server.password)


def as_login(url: str, role: str) -> str:
    """``url`` with the test login that is a member of ``role``."""
    return make_url(url).set(username=TEST_LOGINS[role]).render_as_string(hide_password=False)


def primary_key_column(table: str) -> str:
    (column,) = metadata.tables[table].primary_key.columns
    return column.name


def visible(connection: Connection, table: str) -> frozenset[uuid.UUID]:
    """Primary keys of the rows of ``table`` the connection's role and context can see."""
    column = metadata.tables[table].c[primary_key_column(table)]
    return frozenset(connection.scalars(select(column)))


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of a psycopg 3 or psycopg2 error."""
    orig = error.orig
    code: str | None = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code


@contextmanager
def denied_by_policy(table: str) -> Iterator[None]:
    """Expect 42501 raised by a row-level-security WITH CHECK on ``table``."""
    with pytest.raises(DBAPIError) as caught:
        yield
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert f'violates row-level security policy for table "{table}"' in str(caught.value.orig)


@contextmanager
def denied_by_grant(table: str) -> Iterator[None]:
    """Expect 42501 raised because the role lacks a privilege on ``table`` (or its columns)."""
    with pytest.raises(DBAPIError) as caught:
        yield
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert f"permission denied for table {table}" in str(caught.value.orig)


@dataclass(frozen=True)
class SeededLearner:
    """The ids of one learner's graph: one row in every protected table (two keywords)."""

    user_id: uuid.UUID
    profile_id: uuid.UUID
    course_id: uuid.UUID
    document_id: uuid.UUID
    processed_id: uuid.UUID
    chapter_id: uuid.UUID
    keyword_ids: tuple[uuid.UUID, uuid.UUID]
    relationship_id: uuid.UUID
    annotation_id: uuid.UUID
    feedback_id: uuid.UUID
    progress_id: uuid.UUID
    complexity_id: uuid.UUID

    @classmethod
    def of(cls, graph: LearnerGraph) -> SeededLearner:
        return cls(
            user_id=graph.user.user_id,
            profile_id=graph.profile.profile_id,
            course_id=graph.course.course_id,
            document_id=graph.document.document_id,
            processed_id=graph.processed.processed_id,
            chapter_id=graph.chapter.chapter_id,
            keyword_ids=(graph.keywords[0].keyword_id, graph.keywords[1].keyword_id),
            relationship_id=graph.relationship.relationship_id,
            annotation_id=graph.annotation.annotation_id,
            feedback_id=graph.analogy_feedback.feedback_id,
            progress_id=graph.progress.progress_id,
            complexity_id=graph.complexity.complexity_id,
        )

    def rows(self, table: str) -> frozenset[uuid.UUID]:
        """This learner's primary keys in ``table``."""
        by_table = {
            "users": (self.user_id,),
            "user_profiles": (self.profile_id,),
            "courses": (self.course_id,),
            "course_documents": (self.document_id,),
            "processed_documents": (self.processed_id,),
            "chapters": (self.chapter_id,),
            "keywords": self.keyword_ids,
            "relationships": (self.relationship_id,),
            "user_annotations": (self.annotation_id,),
            "analogy_feedback": (self.feedback_id,),
            "user_progress": (self.progress_id,),
            "chapter_complexity": (self.complexity_id,),
        }
        assert by_table.keys() == RLS_TABLES.keys()
        return frozenset(by_table[table])


def seed_learner(session: Session, user_id: uuid.UUID | None = None) -> SeededLearner:
    """A learner's whole graph, flushed through ``session``.

    As an admin, any learner; as sensa_app, pass the ``user_id`` the
    transaction's context names (a learner signing up and building their graph).
    """
    return SeededLearner.of(make_learner_graph(session, user_id))
