"""record_audit() and reject_audit_log_change(): every change to a learner-owned
row is logged, and the log cannot be rewritten."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from sensa_db.request_context import set_transaction_user
from tests.database_errors import refused
from tests.factories import make_learner_graph
from tests.rls import SeededLearner

AUDITED = {
    "user_profiles": "profile_id",
    "courses": "course_id",
    "user_annotations": "annotation_id",
    "analogy_feedback": "feedback_id",
    "user_progress": "progress_id",
}


def act_as(connection: Connection, user_id: uuid.UUID) -> None:
    """Name ``user_id`` as set_current_user_id() would: admin_role may not call it (only
    the API names learners), but the audit records whoever the context names."""
    connection.execute(
        text(
            "SELECT set_config('app.current_user_id', :u, true), set_config("
            "'app.current_user_txn', CAST(EXTRACT(epoch FROM transaction_timestamp()) AS text),"
            " true)"
        ),
        {"u": str(user_id)},
    )


def audit_rows(connection: Connection, table: str, record_id: uuid.UUID) -> list[Any]:
    return list(
        connection.execute(
            text(
                "SELECT operation, old_row, new_row, acting_user_id, database_role, occurred_at "
                "FROM audit_log WHERE table_name = :t AND record_id = :r ORDER BY audit_id"
            ),
            {"t": table, "r": record_id},
        )
    )


@pytest.mark.parametrize(("table", "key"), sorted(AUDITED.items()))
def test_insert_update_and_delete_of_each_learner_table_are_recorded(
    session: Session, connection: Connection, table: str, key: str
) -> None:
    graph = make_learner_graph(session)
    record_id = connection.scalar(
        text(f"SELECT {key} FROM {table} WHERE user_id = :u"), {"u": graph.user.user_id}
    )
    act_as(connection, graph.user.user_id)
    connection.execute(
        text(f"UPDATE {table} SET {key} = {key}, user_id = user_id WHERE {key} = :r"),
        {"r": record_id},
    )
    change = {
        "user_profiles": "location = 'Porto'",
        "courses": "description = 'cells'",
        "user_annotations": "comment = 'clear'",
        "analogy_feedback": "comment = 'apt'",
        "user_progress": "badges = '[\"first_week\"]'",
    }[table]
    connection.execute(text(f"UPDATE {table} SET {change} WHERE {key} = :r"), {"r": record_id})
    connection.execute(text(f"DELETE FROM {table} WHERE {key} = :r"), {"r": record_id})

    rows = audit_rows(connection, table, record_id)
    # The first UPDATE changed nothing and is not recorded.
    assert [row.operation for row in rows] == ["INSERT", "UPDATE", "DELETE"]
    inserted, update, deleted = rows
    assert (inserted.old_row, inserted.new_row[key]) == (None, str(record_id))
    assert inserted.acting_user_id is None, "the graph was built without app.current_user_id"
    column = change.split(" = ")[0]
    assert {k for k in update.new_row if update.new_row[k] != update.old_row[k]} == {column}
    assert update.acting_user_id == graph.user.user_id
    assert (deleted.old_row[key], deleted.new_row) == (str(record_id), None)
    assert deleted.acting_user_id == graph.user.user_id
    current_user = connection.scalar(text("SELECT current_user"))
    assert {row.database_role for row in rows} == {current_user}
    assert deleted.occurred_at == connection.scalar(text("SELECT now()"))


def test_an_update_that_changes_nothing_is_not_recorded(
    session: Session, connection: Connection
) -> None:
    course = make_learner_graph(session).course
    before = len(audit_rows(connection, "courses", course.course_id))
    connection.execute(
        text("UPDATE courses SET name = name WHERE course_id = :c"), {"c": course.course_id}
    )
    assert len(audit_rows(connection, "courses", course.course_id)) == before == 1


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_log SET acting_user_id = NULL", "UPDATE"),
        ("DELETE FROM audit_log", "DELETE"),
        ("TRUNCATE audit_log", "TRUNCATE"),
    ],
)
def test_the_log_cannot_be_rewritten_even_by_its_owner(
    owner_connection: Connection, owner_session: Session, statement: str, operation: str
) -> None:
    make_learner_graph(owner_session)
    owner_session.commit()
    # The owner holds every privilege on audit_log; only the trigger stands in the way.
    owner_connection.execute(text("RESET ROLE"))
    count = owner_connection.scalar(text("SELECT count(*) FROM audit_log"))
    assert count > 0
    with refused(
        owner_connection, "42501", message=f"audit_log is append-only: {operation} is not allowed"
    ):
        owner_connection.execute(text(statement))
    assert owner_connection.scalar(text("SELECT count(*) FROM audit_log")) == count


def test_the_application_is_audited_without_rights_on_audit_log_and_cannot_forge(
    app_engine: Engine, connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    """The trigger writes as its owner: the API's role needs, and has, no right on audit_log."""
    learner = learners[0].user_id
    with app_engine.begin() as app:
        set_transaction_user(app, learner)
        app.execute(
            text("INSERT INTO courses (user_id, name) VALUES (:u, 'Audited')"), {"u": learner}
        )
        for statement in [
            "INSERT INTO audit_log (table_name, operation, record_id, new_row, database_role)"
            " VALUES ('courses', 'INSERT', gen_random_uuid(), '{}', 'nobody')",
            "SELECT count(*) FROM audit_log",
        ]:
            with refused(app, "42501", message="permission denied for table audit_log"):
                app.execute(text(statement))
    [row] = connection.execute(
        text(
            "SELECT database_role, acting_user_id, new_row ->> 'name' AS name FROM audit_log "
            "WHERE table_name = 'courses' AND new_row ->> 'name' = 'Audited'"
        )
    )
    # The login the API connected as (a member of sensa_app), not the trigger's owner.
    assert (row.database_role, row.acting_user_id, row.name) == (
        app_engine.url.username,
        learner,
        "Audited",
    )
