"""update_user_streak() and set_chapter_completed_at() on user_progress.

Tests cannot move the clock, so "yesterday" is made by writing a past
last_activity_date with an UPDATE that does not increase time spent (which
the streak trigger ignores).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.factories import make_learner_graph


@dataclass
class Learner:
    user_id: uuid.UUID
    course_id: uuid.UUID
    chapter_ids: list[uuid.UUID]


@dataclass
class Streak:
    current: int
    longest: int
    last_activity: date | None


@pytest.fixture
def learner(session: Session, connection: Connection) -> Learner:
    """A learner with a course of three chapters and no progress yet."""
    graph = make_learner_graph(session)
    session.delete(graph.progress)
    session.flush()
    chapter_ids = [graph.chapter.chapter_id]
    for number in (2, 3):
        chapter_ids.append(
            connection.scalar(
                text(
                    "INSERT INTO chapters (processed_id, chapter_number, title) "
                    "VALUES (:p, :n, 'Chapter') RETURNING chapter_id"
                ),
                {"p": graph.processed.processed_id, "n": number},
            )
        )
    return Learner(graph.user.user_id, graph.course.course_id, chapter_ids)


def today(connection: Connection) -> date:
    value: date = connection.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date"))
    return value


def start(connection: Connection, learner: Learner, chapter: int, **columns: object) -> uuid.UUID:
    names = ", ".join(["user_id", "course_id", "chapter_id", *columns])
    values = ", ".join([":user_id", ":course_id", ":chapter_id", *(f":{c}" for c in columns)])
    progress_id: uuid.UUID = connection.scalar(
        text(f"INSERT INTO user_progress ({names}) VALUES ({values}) RETURNING progress_id"),
        {
            "user_id": learner.user_id,
            "course_id": learner.course_id,
            "chapter_id": learner.chapter_ids[chapter],
            **columns,
        },
    )
    return progress_id


def study(connection: Connection, progress_id: uuid.UUID, seconds: int = 60) -> None:
    connection.execute(
        text(
            "UPDATE user_progress SET time_spent_seconds = time_spent_seconds + :s "
            "WHERE progress_id = :id"
        ),
        {"s": seconds, "id": progress_id},
    )


def rewind(
    connection: Connection, progress_id: uuid.UUID, *, days: int, current: int, longest: int
) -> None:
    """Pretend the row's last activity was ``days`` ago with the given streak."""
    connection.execute(
        text(
            "UPDATE user_progress SET last_activity_date = :day, current_streak_days = :c, "
            "longest_streak_days = :l WHERE progress_id = :id"
        ),
        {
            "day": today(connection) - timedelta(days=days),
            "c": current,
            "l": longest,
            "id": progress_id,
        },
    )


def streak(connection: Connection, progress_id: uuid.UUID) -> Streak:
    row = connection.execute(
        text(
            "SELECT current_streak_days, longest_streak_days, last_activity_date "
            "FROM user_progress WHERE progress_id = :id"
        ),
        {"id": progress_id},
    ).one()
    return Streak(*row)


def test_first_activity_ever_starts_a_streak_of_one(
    connection: Connection, learner: Learner
) -> None:
    first = start(connection, learner, 0)
    assert streak(connection, first) == Streak(1, 1, today(connection))


def test_more_activity_the_same_day_leaves_the_streak(
    connection: Connection, learner: Learner
) -> None:
    first = start(connection, learner, 0)
    rewind(connection, first, days=0, current=4, longest=6)
    study(connection, first)
    assert streak(connection, first) == Streak(4, 6, today(connection))
    second = start(connection, learner, 1)
    assert streak(connection, second) == Streak(4, 6, today(connection))


def test_activity_the_day_after_extends_the_streak_and_the_longest(
    connection: Connection, learner: Learner
) -> None:
    first = start(connection, learner, 0)
    rewind(connection, first, days=1, current=3, longest=3)
    study(connection, first)
    assert streak(connection, first) == Streak(4, 4, today(connection))


def test_the_streak_is_the_learners_across_chapters(
    connection: Connection, learner: Learner
) -> None:
    """Yesterday on one chapter, today on another: one streak, not two."""
    yesterday = start(connection, learner, 0)
    rewind(connection, yesterday, days=1, current=2, longest=5)
    older = start(connection, learner, 1)
    rewind(connection, older, days=9, current=1, longest=5)
    todays = start(connection, learner, 2)
    assert streak(connection, todays) == Streak(3, 5, today(connection))
    study(connection, older)
    assert streak(connection, older) == Streak(3, 5, today(connection))


def test_a_gap_of_two_days_or_more_starts_over_and_keeps_the_longest(
    connection: Connection, learner: Learner
) -> None:
    first = start(connection, learner, 0)
    rewind(connection, first, days=2, current=5, longest=7)
    study(connection, first)
    assert streak(connection, first) == Streak(1, 7, today(connection))
    rewind(connection, first, days=30, current=7, longest=7)
    assert streak(connection, start(connection, learner, 1)) == Streak(1, 7, today(connection))


@pytest.mark.parametrize(
    "change",
    [
        "time_spent_seconds = time_spent_seconds",
        "time_spent_seconds = time_spent_seconds - 1",
        "completed = true",
        "badges = '[\"first_week\"]'",
    ],
)
def test_updates_that_are_not_study_time_leave_the_streak(
    connection: Connection, learner: Learner, change: str
) -> None:
    first = start(connection, learner, 0, time_spent_seconds=100)
    rewind(connection, first, days=1, current=3, longest=3)
    connection.execute(
        text(f"UPDATE user_progress SET {change} WHERE progress_id = :id"), {"id": first}
    )
    assert streak(connection, first) == Streak(3, 3, today(connection) - timedelta(days=1))


def test_another_learners_activity_does_not_count(
    session: Session, connection: Connection, learner: Learner
) -> None:
    first = start(connection, learner, 0)
    rewind(connection, first, days=1, current=8, longest=8)
    other = make_learner_graph(session)
    assert streak(connection, other.progress.progress_id) == Streak(1, 1, today(connection))
    assert streak(connection, first) == Streak(8, 8, today(connection) - timedelta(days=1))


def completion(connection: Connection, progress_id: uuid.UUID) -> tuple[bool, datetime | None]:
    row = connection.execute(
        text("SELECT completed, completed_at FROM user_progress WHERE progress_id = :id"),
        {"id": progress_id},
    ).one()
    return row[0], row[1]


def now(connection: Connection) -> datetime:
    value: datetime = connection.scalar(text("SELECT now()"))
    return value


def test_completed_at_is_set_when_completed_turns_true_and_cleared_when_false(
    connection: Connection, learner: Learner
) -> None:
    progress = start(connection, learner, 0)
    assert completion(connection, progress) == (False, None)
    connection.execute(
        text("UPDATE user_progress SET completed = true WHERE progress_id = :id"), {"id": progress}
    )
    assert completion(connection, progress) == (True, now(connection))
    connection.execute(
        text("UPDATE user_progress SET completed = false WHERE progress_id = :id"),
        {"id": progress},
    )
    assert completion(connection, progress) == (False, None)


def test_completed_at_is_untouched_when_completed_does_not_change(
    connection: Connection, learner: Learner
) -> None:
    earlier = datetime.fromisoformat("2024-03-01T10:00:00+00:00")
    progress = start(connection, learner, 0, completed=True, completed_at=earlier)
    assert completion(connection, progress) == (True, earlier)
    for change in ["completed = true", "time_spent_seconds = 30", "badges = '[\"a\"]'"]:
        connection.execute(
            text(f"UPDATE user_progress SET {change} WHERE progress_id = :id"), {"id": progress}
        )
        assert completion(connection, progress) == (True, earlier), change


def test_a_row_inserted_completed_without_a_time_gets_now(
    connection: Connection, learner: Learner
) -> None:
    progress = start(connection, learner, 0, completed=True)
    assert completion(connection, progress) == (True, now(connection))


def test_a_row_inserted_not_completed_has_no_completed_at(
    connection: Connection, learner: Learner
) -> None:
    stray = datetime.fromisoformat("2024-03-01T10:00:00+00:00")
    progress = start(connection, learner, 0, completed=False, completed_at=stray)
    assert completion(connection, progress) == (False, None)
