"""check_feedback_consensus(): consensus_count is the number of distinct learners
giving the same (course, feedback type, rating) among unprocessed annotations."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from sensa_db.security import ADMIN_ROLE
from tests.factories import make_course, make_user
from tests.rls import as_login


@pytest.fixture
def course_id(session: Session) -> uuid.UUID:
    return make_course(session, make_user(session)).course_id


@pytest.fixture
def learners(session: Session) -> list[uuid.UUID]:
    return [make_user(session).user_id for _ in range(4)]


def annotate(
    connection: Connection,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    rating: int | None = 4,
    feedback_type: str = "concept_map",
) -> uuid.UUID:
    annotation_id: uuid.UUID = connection.scalar(
        text(
            "INSERT INTO user_annotations (user_id, course_id, feedback_type, rating) "
            "VALUES (:u, :c, :t, :r) RETURNING annotation_id"
        ),
        {"u": user_id, "c": course_id, "t": feedback_type, "r": rating},
    )
    return annotation_id


def counts(connection: Connection, *annotation_ids: uuid.UUID) -> list[int]:
    return [
        connection.scalar(
            text("SELECT consensus_count FROM user_annotations WHERE annotation_id = :a"),
            {"a": annotation_id},
        )
        for annotation_id in annotation_ids
    ]


def test_three_rows_from_one_learner_are_not_a_consensus(
    connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    rows = [annotate(connection, learners[0], course_id) for _ in range(3)]
    assert counts(connection, *rows) == [1, 1, 1]


def test_each_new_learner_raises_the_count_on_every_row_of_the_group(
    connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    first = annotate(connection, learners[0], course_id)
    repeat = annotate(connection, learners[0], course_id)
    assert counts(connection, first, repeat) == [1, 1]
    second = annotate(connection, learners[1], course_id)
    assert counts(connection, first, repeat, second) == [2, 2, 2]
    third = annotate(connection, learners[2], course_id)
    assert counts(connection, first, repeat, second, third) == [3, 3, 3, 3]


def test_groups_are_separated_by_course_type_and_rating(
    session: Session, connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    other_course = make_course(session, make_user(session)).course_id
    base = annotate(connection, learners[0], course_id)
    others = [
        annotate(connection, learners[1], course_id, rating=5),
        annotate(connection, learners[2], course_id, feedback_type="general"),
        annotate(connection, learners[3], other_course),
    ]
    assert counts(connection, base, *others) == [1, 1, 1, 1]


def test_rows_without_a_rating_take_no_part(
    connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    rows = [annotate(connection, learner, course_id, rating=None) for learner in learners[:3]]
    assert counts(connection, *rows) == [1, 1, 1]


def test_processing_a_row_takes_it_out_and_freezes_its_count(
    connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    rows = [annotate(connection, learner, course_id) for learner in learners[:3]]
    connection.execute(
        text("UPDATE user_annotations SET processed = true WHERE annotation_id = :a"),
        {"a": rows[0]},
    )
    assert counts(connection, *rows) == [3, 2, 2]
    connection.execute(
        text("UPDATE user_annotations SET processed = false WHERE annotation_id = :a"),
        {"a": rows[0]},
    )
    assert counts(connection, *rows) == [3, 3, 3]


def test_deleting_or_changing_a_rating_recounts_both_groups(
    connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    fours = [annotate(connection, learner, course_id) for learner in learners[:3]]
    five = annotate(connection, learners[3], course_id, rating=5)
    connection.execute(
        text("UPDATE user_annotations SET rating = 5 WHERE annotation_id = :a"), {"a": fours[2]}
    )
    assert counts(connection, *fours, five) == [2, 2, 2, 2]
    connection.execute(
        text("DELETE FROM user_annotations WHERE annotation_id = :a"), {"a": fours[0]}
    )
    assert counts(connection, fours[1], fours[2], five) == [1, 2, 2]


def test_concurrent_submissions_are_all_counted(migrated_database: str, test_logins: None) -> None:
    """Two learners submitting at once: neither transaction's count misses the other."""
    engine = create_engine(as_login(migrated_database, ADMIN_ROLE), poolclass=NullPool)
    try:
        with engine.begin() as setup:
            users = [
                setup.scalar(
                    text(
                        "INSERT INTO users (cognito_sub, email) VALUES (:s, :e) RETURNING user_id"
                    ),
                    {"s": f"sub-{n}", "e": f"learner-{n}@example.com"},
                )
                for n in range(3)
            ]
            course_id = setup.scalar(
                text(
                    "INSERT INTO courses (user_id, name) VALUES (:u, 'Optics') RETURNING course_id"
                ),
                {"u": users[0]},
            )
            annotate(setup, users[0], course_id)

        with engine.connect() as first, engine.connect() as second:
            first_transaction = first.begin()
            annotate(first, users[1], course_id)
            second_done = threading.Event()

            def submit_second() -> None:
                with second.begin():
                    annotate(second, users[2], course_id)
                second_done.set()

            worker = threading.Thread(target=submit_second)
            worker.start()
            # The second submission waits for the first to commit before counting.
            assert not second_done.wait(timeout=1.0)
            first_transaction.commit()
            worker.join(timeout=30)
            assert second_done.is_set()

        with engine.connect() as check:
            final = check.execute(
                text("SELECT consensus_count FROM user_annotations WHERE course_id = :c"),
                {"c": course_id},
            ).scalars()
            assert sorted(final) == [3, 3, 3]
    finally:
        engine.dispose()
