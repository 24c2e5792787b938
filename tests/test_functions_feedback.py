"""get_pending_consensus() and get_feedback_summary()."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.factories import make_course, make_learner_graph, make_user


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
    rating: int | None,
    feedback_type: str = "concept_map",
) -> uuid.UUID:
    annotation_id: uuid.UUID = connection.scalar(
        text(
            "INSERT INTO user_annotations (user_id, course_id, feedback_type, rating) "
            "VALUES (:u, :c, CAST(:t AS feedback_type_enum), :r) RETURNING annotation_id"
        ),
        {"u": user_id, "c": course_id, "t": feedback_type, "r": rating},
    )
    return annotation_id


def pending(connection: Connection, *minimum: int) -> list[tuple[object, ...]]:
    call = "get_pending_consensus(:m)" if minimum else "get_pending_consensus()"
    rows = connection.execute(
        text(
            "SELECT course_id, feedback_type::text, rating, learner_count, annotation_ids "
            f"FROM {call}"
        ),
        {"m": minimum[0]} if minimum else {},
    )
    return [tuple(row) for row in rows]


def test_a_group_of_three_learners_is_pending_and_one_learner_thrice_is_not(
    connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    for _ in range(3):
        annotate(connection, learners[0], course_id, 2)
    assert pending(connection) == []
    agreed = [annotate(connection, learner, course_id, 4) for learner in learners[:3]]
    # Annotations in order of submission; one transaction's share its time, then by id.
    assert pending(connection) == [(course_id, "concept_map", 4, 3, sorted(agreed))]
    assert pending(connection, 4) == []
    assert [row[2] for row in pending(connection, 1)] == [4, 2]


def test_processed_annotations_leave_the_pending_groups(
    connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    agreed = [annotate(connection, learner, course_id, 5) for learner in learners[:3]]
    connection.execute(
        text("UPDATE user_annotations SET processed = true WHERE annotation_id = ANY(:ids)"),
        {"ids": agreed[:1]},
    )
    assert pending(connection) == []
    assert pending(connection, 2) == [(course_id, "concept_map", 5, 2, sorted(agreed[1:]))]


def test_feedback_summary_of_a_course(
    session: Session, connection: Connection, course_id: uuid.UUID, learners: list[uuid.UUID]
) -> None:
    for learner in learners[:3]:
        annotate(connection, learner, course_id, 4)
    annotate(connection, learners[3], course_id, 1, "processing")
    annotate(connection, learners[3], course_id, None, "general")
    graph = make_learner_graph(session)  # another course, with one helpful analogy
    # Its document moves into the course; the processed document follows it.
    connection.execute(
        text("UPDATE course_documents SET course_id = :c WHERE document_id = :d"),
        {"c": course_id, "d": graph.document.document_id},
    )
    for learner, helpful in zip(learners[:2], [False, True], strict=True):
        connection.execute(
            text(
                "INSERT INTO analogy_feedback (user_id, chapter_id, analogy_id, helpful) "
                "VALUES (:u, :ch, gen_random_uuid(), :h)"
            ),
            {"u": learner, "ch": graph.chapter.chapter_id, "h": helpful},
        )
    summary = connection.execute(
        text("SELECT * FROM get_feedback_summary(:c)"), {"c": course_id}
    ).one()
    assert summary._asdict() == {
        "total_feedback": 5,
        "feedback_by_type": {"concept_map": 3, "processing": 1, "general": 1, "analogy": 0},
        "average_rating": Decimal("3.25"),
        "consensus_groups": 1,
        "analogy_feedback_count": 3,
        "analogy_helpful_ratio": Decimal("0.6667"),
    }


def test_feedback_summary_without_feedback_and_of_no_course(
    connection: Connection, course_id: uuid.UUID
) -> None:
    summary = connection.execute(
        text("SELECT * FROM get_feedback_summary(:c)"), {"c": course_id}
    ).one()
    assert tuple(summary) == (
        0,
        {"concept_map": 0, "processing": 0, "general": 0, "analogy": 0},
        None,
        0,
        0,
        None,
    )
    assert (
        connection.execute(
            text("SELECT * FROM get_feedback_summary(:c)"), {"c": uuid.uuid4()}
        ).all()
        == []
    )
