"""The constraints the API relies on reject bad rows, naming the rule they broke."""

from __future__ import annotations

import uuid

import pytest
from psycopg import errors
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sensa_db.models import Chapter, CourseDocument, KeywordRelationship, User, metadata
from tests.factories import make_course, make_document, make_learner_graph, make_user


def _violation(session: Session, statement: str, params: dict[str, object]) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, session.begin_nested():
        session.execute(text(statement), params)
    return caught.value


def test_duplicate_document_hash_in_a_course_is_a_unique_violation(session: Session) -> None:
    course = make_course(session, make_user(session))
    make_document(session, course, content="same bytes")
    with pytest.raises(IntegrityError) as caught, session.begin_nested():
        make_document(session, course, content="same bytes")
    assert isinstance(caught.value.orig, errors.UniqueViolation)
    assert caught.value.orig.diag.constraint_name == "unique_hash_per_course"


def test_the_same_document_in_two_courses_is_allowed(session: Session) -> None:
    user = make_user(session)
    make_document(session, make_course(session, user), content="shared handout")
    make_document(session, make_course(session, user, name="Genetics"), content="shared handout")
    assert session.scalar(select(func.count()).select_from(CourseDocument)) == 2


@pytest.mark.parametrize("column", ["exam_relevance_score", "complexity_score"])
@pytest.mark.parametrize("score", [101, -1])
def test_chapter_scores_outside_0_to_100_are_check_violations(
    session: Session, column: str, score: int
) -> None:
    graph = make_learner_graph(session)
    error = _violation(
        session,
        f"UPDATE chapters SET {column} = :score WHERE chapter_id = :id",
        {"score": score, "id": graph.chapter.chapter_id},
    )
    assert isinstance(error.orig, errors.CheckViolation)
    assert error.orig.diag.constraint_name == f"chapters_{column}_check"


@pytest.mark.parametrize("score", [0, 100])
def test_chapter_scores_at_the_bounds_are_accepted(session: Session, score: int) -> None:
    graph = make_learner_graph(session)
    graph.chapter.exam_relevance_score = score
    session.flush()
    assert session.get(Chapter, graph.chapter.chapter_id) is not None


def test_a_relationship_from_a_keyword_to_itself_is_a_check_violation(session: Session) -> None:
    graph = make_learner_graph(session)
    keyword = graph.keywords[0]
    session.add(
        KeywordRelationship(
            chapter=graph.chapter,
            source_keyword=keyword,
            target_keyword=keyword,
            relationship_type="is",
        )
    )
    with pytest.raises(IntegrityError) as caught, session.begin_nested():
        session.flush()
    assert isinstance(caught.value.orig, errors.CheckViolation)
    assert caught.value.orig.diag.constraint_name == "no_self_reference"


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("UPDATE user_annotations SET rating = 6", "user_annotations_rating_check"),
        ("UPDATE relationships SET strength = 1.5", "relationships_strength_check"),
        (
            "UPDATE course_documents SET sha256_hash = repeat('Z', 64)",
            "course_documents_sha256_hash_hex_check",
        ),
        (
            "UPDATE user_progress SET time_spent_seconds = -1",
            "user_progress_time_spent_seconds_non_negative_check",
        ),
        ("UPDATE user_progress SET badges = '{}'::jsonb", "user_progress_badges_is_array_check"),
        (
            "UPDATE user_progress SET current_streak_days = 3",
            "user_progress_streak_within_longest_check",
        ),
    ],
)
def test_range_and_shape_checks_name_the_rule(
    session: Session, statement: str, constraint: str
) -> None:
    make_learner_graph(session)
    error = _violation(session, statement, {})
    assert isinstance(error.orig, errors.CheckViolation)
    assert error.orig.diag.constraint_name == constraint


def test_a_course_without_an_owner_is_rejected(session: Session) -> None:
    error = _violation(session, "INSERT INTO courses (name) VALUES ('orphan')", {})
    assert isinstance(error.orig, errors.NotNullViolation)
    assert error.orig.diag.column_name == "user_id"


def test_a_course_for_an_unknown_user_is_a_foreign_key_violation(session: Session) -> None:
    error = _violation(
        session, "INSERT INTO courses (user_id, name) VALUES (:user, 'x')", {"user": uuid.uuid4()}
    )
    assert isinstance(error.orig, errors.ForeignKeyViolation)
    assert error.orig.diag.constraint_name == "courses_user_id_fkey"


def test_deleting_a_user_cascades_to_every_table_below_it(
    session: Session, connection: Connection
) -> None:
    doomed = make_learner_graph(session)
    kept = make_learner_graph(session)
    session.expunge_all()
    # audit_log is not below users: it keeps the history of what was deleted;
    # pipeline_results neither: a PDF's result outlives whoever uploaded it.
    # document_claims' cascade is tested with the worker (test_pipeline_worker.py).
    not_below_users = {"migrations_log", "audit_log", "pipeline_results", "document_claims"}
    tables = sorted(name for name in metadata.tables if name not in not_below_users)

    def counts() -> dict[str, int]:
        return {name: connection.scalar(text(f"SELECT count(*) FROM {name}")) for name in tables}

    assert counts() == {name: (4 if name == "keywords" else 2) for name in tables}
    connection.execute(text("DELETE FROM users WHERE user_id = :id"), {"id": doomed.user.user_id})
    assert counts() == {name: (2 if name == "keywords" else 1) for name in tables}
    assert session.get(User, kept.user.user_id) is not None
