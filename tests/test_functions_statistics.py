"""get_learner_streak(), get_course_stats(), get_user_progress_summary() and
get_learning_statistics()."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from sensa_db.models import User
from tests.factories import make_course, make_document, make_learner_graph, make_user


@dataclass
class Course:
    user_id: uuid.UUID
    course_id: uuid.UUID
    chapter_ids: list[uuid.UUID]


def add_document(
    connection: Connection, course_id: uuid.UUID, chapters: int, keywords_per_chapter: int
) -> list[uuid.UUID]:
    """A processed document with its chapters and keywords; returns the chapter ids."""
    processed_id = connection.scalar(
        text(
            "WITH d AS (INSERT INTO course_documents (course_id, filename, original_filename,"
            " s3_key, s3_bucket, sha256_hash, file_size) VALUES (:c, 'x.pdf', 'x.pdf', 'k', 'b',"
            " :h, 1) RETURNING document_id, course_id) "
            "INSERT INTO processed_documents (document_id, course_id, concept_map,"
            " pipeline_version) SELECT document_id, course_id, '{}', '1' FROM d"
            " RETURNING processed_id"
        ),
        {"c": course_id, "h": uuid.uuid4().hex * 2},
    )
    chapter_ids = list(
        connection.execute(
            text(
                "INSERT INTO chapters (processed_id, chapter_number, title) "
                "SELECT :p, n, 'Chapter ' || n FROM generate_series(1, :n) n RETURNING chapter_id"
            ),
            {"p": processed_id, "n": chapters},
        ).scalars()
    )
    connection.execute(
        text(
            "INSERT INTO keywords (chapter_id, term, definition) "
            "SELECT c, 'term', 'definition' FROM unnest(CAST(:ids AS uuid[])) c, "
            "generate_series(1, :k)"
        ),
        {"ids": chapter_ids, "k": keywords_per_chapter},
    )
    return chapter_ids


def set_status(connection: Connection, course_id: uuid.UUID, *path: str) -> None:
    """Walk one of the course's pending documents along ``path``."""
    document_id = connection.scalar(
        text(
            "SELECT document_id FROM course_documents WHERE course_id = :c "
            "AND processing_status = 'pending' LIMIT 1"
        ),
        {"c": course_id},
    )
    for status in path:
        connection.execute(
            text(
                "UPDATE course_documents SET error_message = 'boom',"
                " processing_status = CAST(:s AS processing_status_enum) WHERE document_id = :d"
            ),
            {"s": status, "d": document_id},
        )


@pytest.fixture
def course(session: Session, connection: Connection) -> Course:
    user = make_user(session)
    course = make_course(session, user)
    chapters = add_document(connection, course.course_id, chapters=3, keywords_per_chapter=4)
    chapters += add_document(connection, course.course_id, chapters=1, keywords_per_chapter=2)
    make_document(session, course, content="never processed")
    make_document(session, course, content="failed")
    set_status(connection, course.course_id, "processing", "completed")
    set_status(connection, course.course_id, "processing", "failed")
    return Course(user.user_id, course.course_id, chapters)


def test_course_stats_count_each_thing_once(
    session: Session, connection: Connection, course: Course
) -> None:
    make_learner_graph(session)  # another learner's course must not count
    stats = connection.execute(
        text("SELECT * FROM get_course_stats(:c)"), {"c": course.course_id}
    ).one()
    assert stats._asdict() == {
        "total_documents": 4,
        "completed_documents": 1,
        "pending_documents": 2,
        "failed_documents": 1,
        "total_chapters": 4,
        "total_keywords": 3 * 4 + 2,
    }


def test_course_stats_of_an_empty_course_and_of_no_course(
    session: Session, connection: Connection
) -> None:
    empty = make_course(session, make_user(session))
    stats = connection.execute(
        text("SELECT * FROM get_course_stats(:c)"), {"c": empty.course_id}
    ).one()
    assert tuple(stats) == (0, 0, 0, 0, 0, 0)
    assert (
        connection.execute(text("SELECT * FROM get_course_stats(:c)"), {"c": uuid.uuid4()}).all()
        == []
    )


def today(connection: Connection) -> date:
    value: date = connection.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date"))
    return value


def record_progress(
    connection: Connection,
    course: Course,
    chapter: int,
    *,
    seconds: int = 0,
    completed: bool = False,
    badges: str = "[]",
) -> uuid.UUID:
    progress_id: uuid.UUID = connection.scalar(
        text(
            "INSERT INTO user_progress (user_id, course_id, chapter_id, time_spent_seconds,"
            " completed, badges) VALUES (:u, :c, :ch, :s, :done, CAST(:b AS jsonb))"
            " RETURNING progress_id"
        ),
        {
            "u": course.user_id,
            "c": course.course_id,
            "ch": course.chapter_ids[chapter],
            "s": seconds,
            "done": completed,
            "b": badges,
        },
    )
    return progress_id


def rewind(
    connection: Connection, progress_id: uuid.UUID, days: int, current: int, longest: int
) -> None:
    connection.execute(
        text(
            "UPDATE user_progress SET last_activity_date = :d, current_streak_days = :c,"
            " longest_streak_days = :l WHERE progress_id = :id"
        ),
        {
            "d": today(connection) - timedelta(days=days),
            "c": current,
            "l": longest,
            "id": progress_id,
        },
    )


def streak(connection: Connection, user_id: uuid.UUID) -> tuple[int, int, date | None]:
    row = connection.execute(text("SELECT * FROM get_learner_streak(:u)"), {"u": user_id}).one()
    return row.current_streak, row.longest_streak, row.last_activity_date


def test_learner_streak_reads_the_latest_row_and_lapses_after_a_missed_day(
    connection: Connection, course: Course
) -> None:
    assert streak(connection, course.user_id) == (0, 0, None)
    older = record_progress(connection, course, 0)
    latest = record_progress(connection, course, 1)
    rewind(connection, older, days=5, current=9, longest=9)
    rewind(connection, latest, days=1, current=4, longest=9)
    assert streak(connection, course.user_id) == (4, 9, today(connection) - timedelta(days=1))
    rewind(connection, latest, days=2, current=4, longest=9)
    assert streak(connection, course.user_id) == (0, 9, today(connection) - timedelta(days=2))


def test_progress_summary_for_one_course(
    session: Session, connection: Connection, course: Course
) -> None:
    record_progress(connection, course, 0, seconds=600, completed=True)
    record_progress(connection, course, 1, seconds=300)
    record_progress(connection, course, 3, seconds=60, completed=True)
    learner = session.get_one(User, course.user_id)
    elsewhere_id = make_course(session, learner, name="Optics").course_id
    elsewhere = Course(course.user_id, elsewhere_id, add_document(connection, elsewhere_id, 1, 0))
    record_progress(connection, elsewhere, 0, seconds=5000, completed=True)
    summary = connection.execute(
        text("SELECT * FROM get_user_progress_summary(:u, :c)"),
        {"u": course.user_id, "c": course.course_id},
    ).one()
    assert summary._asdict() == {
        "total_chapters": 4,
        "completed_chapters": 2,
        "completion_percentage": Decimal("50.00"),
        "current_streak": 1,
        "total_time_spent": 960,
    }


def test_progress_summary_reports_the_learner_streak_not_the_courses(
    session: Session, connection: Connection, course: Course
) -> None:
    mine = record_progress(connection, course, 0)
    rewind(connection, mine, days=3, current=6, longest=6)
    other_course = make_course(session, session.get_one(User, course.user_id), name="Optics")
    other = Course(
        course.user_id,
        other_course.course_id,
        add_document(connection, other_course.course_id, 1, 0),
    )
    latest = record_progress(connection, other, 0)
    rewind(connection, latest, days=0, current=2, longest=6)
    summary = connection.execute(
        text("SELECT current_streak FROM get_user_progress_summary(:u, :c)"),
        {"u": course.user_id, "c": course.course_id},
    ).scalar_one()
    assert summary == 2


def test_progress_summary_before_any_progress_and_without_chapters(
    session: Session, connection: Connection, course: Course
) -> None:
    summary = connection.execute(
        text("SELECT * FROM get_user_progress_summary(:u, :c)"),
        {"u": course.user_id, "c": course.course_id},
    ).one()
    assert tuple(summary) == (4, 0, Decimal("0.00"), 0, 0)
    empty = make_course(session, make_user(session))
    summary = connection.execute(
        text("SELECT * FROM get_user_progress_summary(:u, :c)"),
        {"u": course.user_id, "c": empty.course_id},
    ).one()
    assert tuple(summary) == (0, 0, None, 0, 0)


def test_learning_statistics_across_courses(
    session: Session, connection: Connection, course: Course
) -> None:
    record_progress(connection, course, 0, seconds=100, completed=True, badges='["first_week"]')
    record_progress(connection, course, 1, seconds=50, badges='["night_owl", "first_week"]')
    user = course.user_id
    learner = session.get_one(User, user)
    second = make_course(session, learner, name="Optics")
    archived = make_course(session, learner, name="Old optics")
    connection.execute(
        text("UPDATE courses SET is_archived = true WHERE course_id = :c"),
        {"c": archived.course_id},
    )
    other = Course(user, second.course_id, add_document(connection, second.course_id, 1, 0))
    latest = record_progress(connection, other, 0, seconds=25, completed=True)
    rewind(connection, latest, days=0, current=3, longest=8)
    make_learner_graph(session)  # another learner's progress must not count

    stats = connection.execute(text("SELECT * FROM get_learning_statistics(:u)"), {"u": user}).one()
    assert stats._asdict() == {
        "total_time_spent_seconds": 175,
        "chapters_started": 3,
        "chapters_completed": 2,
        "active_courses": 2,
        "courses_studied": 2,
        "current_streak": 3,
        "longest_streak": 8,
        "badges": ["first_week", "night_owl"],
    }


def test_learning_statistics_of_a_new_learner(session: Session, connection: Connection) -> None:
    user = make_user(session)
    stats = connection.execute(
        text("SELECT * FROM get_learning_statistics(:u)"), {"u": user.user_id}
    ).one()
    assert tuple(stats) == (0, 0, 0, 0, 0, 0, 0, [])
