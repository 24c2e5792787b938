"""enforce_document_status_transition(): the processing pipeline's state machine."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.database_errors import refused
from tests.factories import make_course, make_document, make_user

STATUSES = ["pending", "processing", "completed", "failed"]
ALLOWED = {
    ("pending", "processing"),
    ("processing", "completed"),
    ("processing", "failed"),
    ("failed", "pending"),
}
# The shortest allowed path from pending to each status.
PATH = {
    "pending": [],
    "processing": ["processing"],
    "completed": ["processing", "completed"],
    "failed": ["processing", "failed"],
}
TRANSITION = "course_documents_processing_status_transition"


@pytest.fixture
def document_id(session: Session) -> uuid.UUID:
    return make_document(session, make_course(session, make_user(session))).document_id


def move(
    connection: Connection, document_id: uuid.UUID, status: str, error: str | None = None
) -> None:
    connection.execute(
        text(
            "UPDATE course_documents SET processing_status = :s, "
            "error_message = coalesce(:e, error_message) WHERE document_id = :id"
        ),
        {"s": status, "e": error, "id": document_id},
    )


def walk_to(connection: Connection, document_id: uuid.UUID, status: str) -> None:
    for step in PATH[status]:
        move(connection, document_id, step, "parser crashed" if step == "failed" else None)


def state(
    connection: Connection, document_id: uuid.UUID
) -> tuple[str, datetime | None, str | None]:
    row = connection.execute(
        text(
            "SELECT processing_status::text, processed_at, error_message "
            "FROM course_documents WHERE document_id = :id"
        ),
        {"id": document_id},
    ).one()
    return row[0], row[1], row[2]


@pytest.mark.parametrize(("origin", "target"), sorted(ALLOWED))
def test_allowed_transitions(
    connection: Connection, document_id: uuid.UUID, origin: str, target: str
) -> None:
    walk_to(connection, document_id, origin)
    move(connection, document_id, target, "timeout" if target == "failed" else None)
    assert state(connection, document_id)[0] == target


@pytest.mark.parametrize(
    ("origin", "target"),
    [pair for pair in itertools.permutations(STATUSES, 2) if pair not in ALLOWED],
)
def test_every_other_transition_is_refused_naming_both_states(
    connection: Connection, document_id: uuid.UUID, origin: str, target: str
) -> None:
    walk_to(connection, document_id, origin)
    with refused(
        connection,
        "23514",
        constraint=TRANSITION,
        message=f"processing_status cannot go from {origin} to {target}",
    ):
        move(connection, document_id, target, "timeout")
    assert state(connection, document_id)[0] == origin


def test_a_new_document_must_be_pending(session: Session, connection: Connection) -> None:
    course = make_course(session, make_user(session))
    with refused(connection, "23514", constraint=TRANSITION, message="must be pending"):
        connection.execute(
            text(
                "INSERT INTO course_documents (course_id, filename, original_filename, s3_key, "
                "s3_bucket, sha256_hash, file_size, processing_status) VALUES (:c, 'a.pdf', "
                "'a.pdf', 'k', 'b', repeat('a', 64), 1, 'completed')"
            ),
            {"c": course.course_id},
        )


def test_completion_stamps_processed_at_and_clears_the_error(
    connection: Connection, document_id: uuid.UUID
) -> None:
    walk_to(connection, document_id, "processing")
    connection.execute(
        text("UPDATE course_documents SET error_message = 'stale' WHERE document_id = :id"),
        {"id": document_id},
    )
    move(connection, document_id, "completed")
    assert state(connection, document_id) == (
        "completed",
        connection.scalar(text("SELECT now()")),
        None,
    )


@pytest.mark.parametrize("message", [None, "", "   "])
def test_failing_requires_an_error_message(
    connection: Connection, document_id: uuid.UUID, message: str | None
) -> None:
    walk_to(connection, document_id, "processing")
    with refused(
        connection,
        "23514",
        constraint="course_documents_failed_error_message",
        message="needs an error_message",
    ):
        connection.execute(
            text(
                "UPDATE course_documents SET processing_status = 'failed', error_message = :m "
                "WHERE document_id = :id"
            ),
            {"m": message, "id": document_id},
        )


def test_a_failed_document_cannot_lose_its_error_message(
    connection: Connection, document_id: uuid.UUID
) -> None:
    walk_to(connection, document_id, "failed")
    with refused(connection, "23514", constraint="course_documents_failed_error_message"):
        connection.execute(
            text("UPDATE course_documents SET error_message = NULL WHERE document_id = :id"),
            {"id": document_id},
        )


def test_a_retry_clears_the_error_message(connection: Connection, document_id: uuid.UUID) -> None:
    walk_to(connection, document_id, "failed")
    assert state(connection, document_id) == ("failed", None, "parser crashed")
    move(connection, document_id, "pending")
    assert state(connection, document_id) == ("pending", None, None)


def test_updates_that_keep_the_status_are_not_transitions(
    connection: Connection, document_id: uuid.UUID
) -> None:
    walk_to(connection, document_id, "completed")
    processed_at = state(connection, document_id)[1]
    connection.execute(
        text(
            "UPDATE course_documents SET processing_status = 'completed', page_count = 3 "
            "WHERE document_id = :id"
        ),
        {"id": document_id},
    )
    assert state(connection, document_id) == ("completed", processed_at, None)
