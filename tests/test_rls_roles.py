"""admin_role sees every learner's rows; sensa_worker writes processing results for any
course and reaches nothing personal. Connected through each role's test login."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text, update
from sqlalchemy.exc import DBAPIError

from sensa_db.models import metadata
from sensa_db.security import GRANTS, RLS_TABLES, WORKER_ROLE
from tests.rls import SeededLearner, denied_by_grant, sqlstate, visible

# The learner tables the worker reaches; its own tables (pipeline_results, document_claims)
# hold no learner's rows and are tested with the worker's protocol (test_pipeline_worker.py).
RESULT_AND_DOCUMENT_TABLES = sorted(GRANTS[WORKER_ROLE].keys() & RLS_TABLES.keys())
PERSONAL_TABLES = sorted(RLS_TABLES.keys() - GRANTS[WORKER_ROLE].keys())


def _rolled_back(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@pytest.fixture
def admin_connection(shared_engine: Engine) -> Iterator[Connection]:
    yield from _rolled_back(shared_engine)


@pytest.fixture
def worker_connection(worker_engine: Engine) -> Iterator[Connection]:
    yield from _rolled_back(worker_engine)


def test_the_role_split_covers_every_protected_table() -> None:
    assert PERSONAL_TABLES == [
        "analogy_feedback",
        "courses",
        "user_annotations",
        "user_profiles",
        "user_progress",
        "users",
    ]


@pytest.mark.parametrize("table", sorted(RLS_TABLES))
def test_admin_sees_every_learners_rows_without_a_context(
    admin_connection: Connection, learners: tuple[SeededLearner, SeededLearner], table: str
) -> None:
    first, second = learners
    assert visible(admin_connection, table) == first.rows(table) | second.rows(table)


def test_admin_edits_any_learners_course(
    admin_connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    courses = metadata.tables["courses"]
    result = admin_connection.execute(
        update(courses)
        .where(courses.c.course_id.in_([lr.course_id for lr in learners]))
        .values(is_archived=True)
    )
    assert result.rowcount == 2


@pytest.mark.parametrize("table", RESULT_AND_DOCUMENT_TABLES)
def test_worker_reads_documents_and_results_of_every_course(
    worker_connection: Connection, learners: tuple[SeededLearner, SeededLearner], table: str
) -> None:
    first, second = learners
    assert visible(worker_connection, table) == first.rows(table) | second.rows(table)


@pytest.mark.parametrize("table", PERSONAL_TABLES)
def test_worker_cannot_read_personal_tables(worker_connection: Connection, table: str) -> None:
    with denied_by_grant(table):
        visible(worker_connection, table)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE course_documents SET course_id = course_id", id="move a document"),
        pytest.param("UPDATE course_documents SET s3_key = 'elsewhere'", id="repoint a document"),
        pytest.param("DELETE FROM course_documents", id="delete a document"),
    ],
)
def test_worker_cannot_change_what_a_document_is(
    worker_connection: Connection, statement: str
) -> None:
    with denied_by_grant("course_documents"), worker_connection.begin_nested():
        worker_connection.execute(text(statement))


def test_worker_cannot_act_for_a_learner(worker_connection: Connection) -> None:
    with pytest.raises(DBAPIError) as caught, worker_connection.begin_nested():
        worker_connection.execute(
            text("SELECT public.set_current_user_id(:id)"), {"id": uuid.uuid4()}
        )
    assert sqlstate(caught.value) == "42501"
    assert "permission denied for function set_current_user_id" in str(caught.value)
