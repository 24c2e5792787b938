"""The inherit_owner_from_* and propagate_owner_to_* triggers: the owner stamped below courses.

Run as admin_role (tests/conftest.py's session), which sees every row, except
where a learner's own write is the point.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from sensa_db.request_context import set_transaction_user
from sensa_db.security import OWNER_STAMPED_TABLES
from tests.database_errors import refused
from tests.factories import LearnerGraph, make_course, make_learner_graph, make_user
from tests.rls import SeededLearner, primary_key_column


def owners_of_graph(connection: Connection, graph: LearnerGraph) -> dict[str, set[uuid.UUID]]:
    ids = {
        "course_documents": [graph.document.document_id],
        "processed_documents": [graph.processed.processed_id],
        "chapters": [graph.chapter.chapter_id],
        "keywords": [keyword.keyword_id for keyword in graph.keywords],
        "relationships": [graph.relationship.relationship_id],
        "chapter_complexity": [graph.complexity.complexity_id],
    }
    return {
        table: set(
            connection.scalars(
                text(f"SELECT user_id FROM {table} WHERE {primary_key_column(table)} = ANY(:ids)"),
                {"ids": ids[table]},
            )
        )
        for table in OWNER_STAMPED_TABLES
    }


def test_every_row_below_a_course_carries_the_course_owner(
    session: Session, connection: Connection
) -> None:
    graph = make_learner_graph(session)
    assert owners_of_graph(connection, graph) == {
        table: {graph.user.user_id} for table in OWNER_STAMPED_TABLES
    }
    assert graph.keywords[0].user_id == graph.user.user_id


def test_a_supplied_owner_is_replaced_by_the_parent_one(
    session: Session, connection: Connection
) -> None:
    graph = make_learner_graph(session)
    stranger = make_user(session).user_id
    inserted = connection.scalar(
        text(
            "INSERT INTO keywords (chapter_id, user_id, term, definition)"
            " VALUES (:chapter, :stranger, 'planted', 'x') RETURNING user_id"
        ),
        {"chapter": graph.chapter.chapter_id, "stranger": stranger},
    )
    assert inserted == graph.user.user_id
    updated = connection.scalar(
        text("UPDATE chapters SET user_id = :stranger WHERE chapter_id = :id RETURNING user_id"),
        {"stranger": stranger, "id": graph.chapter.chapter_id},
    )
    assert updated == graph.user.user_id


def test_a_course_given_to_another_learner_takes_its_concept_map_along(
    session: Session, connection: Connection
) -> None:
    graph = make_learner_graph(session)
    heir = make_user(session).user_id
    connection.execute(
        text("UPDATE courses SET user_id = :heir WHERE course_id = :id"),
        {"heir": heir, "id": graph.course.course_id},
    )
    assert owners_of_graph(connection, graph) == {table: {heir} for table in OWNER_STAMPED_TABLES}


def test_a_document_moved_to_another_course_takes_its_processed_form_along(
    session: Session, connection: Connection
) -> None:
    graph = make_learner_graph(session)
    other_learner = make_user(session)
    destination = make_course(session, other_learner, name="Genetics").course_id
    connection.execute(
        text("UPDATE course_documents SET course_id = :to WHERE document_id = :id"),
        {"to": destination, "id": graph.document.document_id},
    )
    filed = connection.execute(
        text("SELECT course_id, user_id FROM processed_documents WHERE processed_id = :id"),
        {"id": graph.processed.processed_id},
    ).one()
    assert tuple(filed) == (destination, other_learner.user_id)
    assert owners_of_graph(connection, graph) == {
        table: {other_learner.user_id} for table in OWNER_STAMPED_TABLES
    }


def test_a_processed_document_under_a_foreign_course_gets_no_owner(
    session: Session, connection: Connection
) -> None:
    graph = make_learner_graph(session)
    elsewhere = make_course(session, make_user(session)).course_id
    with refused(connection, "23502", message='column "user_id" of relation "processed_documents"'):
        connection.execute(
            text("UPDATE processed_documents SET course_id = :elsewhere WHERE processed_id = :id"),
            {"elsewhere": elsewhere, "id": graph.processed.processed_id},
        )


def test_a_learner_stamping_another_learners_id_still_writes_as_themselves(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    me, other = learners
    set_transaction_user(app_connection, me.user_id)
    stamped = app_connection.scalar(
        text(
            "INSERT INTO keywords (chapter_id, user_id, term, definition)"
            " VALUES (:chapter, :other, 'mine', 'x') RETURNING user_id"
        ),
        {"chapter": me.chapter_id, "other": other.user_id},
    )
    assert stamped == me.user_id
