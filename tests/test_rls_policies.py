"""Every protected table, every command: a learner reaches their own rows and no one else's.

Connected as sensa_app (through its test login), never as the owner. Two
learners' graphs are committed by an admin; each test runs in a transaction
that is rolled back. A denied write raises 42501 naming the table's policy (a
WITH CHECK) or affects 0 rows (a USING), as PostgreSQL defines them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, delete, func, insert, text, update
from sqlalchemy.orm import Session

from sensa_db.models import Chapter, ComplexityLevel, FeedbackType, metadata
from sensa_db.request_context import set_transaction_user
from sensa_db.security import APP_ROLE, GRANTS, RLS_TABLES
from sensa_db_tools.benchmark.plans import plan_nodes
from tests.factories import LearnerGraph, make_learner_graph, sha256_of
from tests.rls import (
    SeededLearner,
    denied_by_grant,
    denied_by_policy,
    primary_key_column,
    seed_learner,
    visible,
)

TABLES = list(RLS_TABLES)
Rows = Callable[[SeededLearner, SeededLearner], dict[str, Any]]


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _document(course_id: uuid.UUID) -> dict[str, Any]:
    tag = _tag()
    return {
        "course_id": course_id,
        "filename": f"{tag}.pdf",
        "original_filename": "notes.pdf",
        "s3_key": f"uploads/{tag}.pdf",
        "s3_bucket": "sensa-uploads",
        "sha256_hash": sha256_of(tag),
        "file_size": 10,
    }


def _processed(document_id: uuid.UUID, course_id: uuid.UUID) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "course_id": course_id,
        "concept_map": {},
        "pipeline_version": "1.0.0",
    }


# Rows a learner ``me`` must not insert: each is owned by, or hangs under,
# learner ``other``. The second of a pair keeps ``me`` as owner but points into
# the other learner's data, which a USING-only policy would have let through.
FOREIGN_ROWS: list[tuple[str, str, Rows]] = [
    (
        "users",
        "an account under another id",
        lambda me, other: {
            "user_id": uuid.uuid4(),
            "cognito_sub": f"cognito-{_tag()}",
            "email": f"{_tag()}@example.com",
        },
    ),
    (
        "user_profiles",
        "a profile for another learner",
        lambda me, other: {"user_id": other.user_id},
    ),
    (
        "courses",
        "a course for another learner",
        lambda me, other: {"user_id": other.user_id, "name": "planted"},
    ),
    (
        "course_documents",
        "a document in another learner's course",
        lambda me, other: _document(other.course_id),
    ),
    (
        "processed_documents",
        "another learner's document processed",
        lambda me, other: _processed(other.document_id, other.course_id),
    ),
    (
        "processed_documents",
        "one's own document filed under another learner's course",
        lambda me, other: _processed(me.document_id, other.course_id),
    ),
    (
        "chapters",
        "a chapter in another learner's document",
        lambda me, other: {"processed_id": other.processed_id, "chapter_number": 9, "title": "x"},
    ),
    (
        "keywords",
        "a keyword in another learner's chapter",
        lambda me, other: {"chapter_id": other.chapter_id, "term": "x", "definition": "y"},
    ),
    (
        "relationships",
        "a relationship in another learner's chapter",
        lambda me, other: {
            "chapter_id": other.chapter_id,
            "source_keyword_id": other.keyword_ids[0],
            "target_keyword_id": other.keyword_ids[1],
            "relationship_type": "causes",
        },
    ),
    (
        "relationships",
        "a relationship from one's own keyword to another learner's",
        lambda me, other: {
            "chapter_id": me.chapter_id,
            "source_keyword_id": me.keyword_ids[0],
            "target_keyword_id": other.keyword_ids[0],
            "relationship_type": "causes",
        },
    ),
    (
        "chapter_complexity",
        "complexity of another learner's chapter",
        lambda me, other: {"chapter_id": other.chapter_id, "complexity_level": ComplexityLevel.LOW},
    ),
    (
        "user_annotations",
        "an annotation as another learner",
        lambda me, other: {
            "user_id": other.user_id,
            "course_id": other.course_id,
            "feedback_type": FeedbackType.GENERAL,
        },
    ),
    (
        "user_annotations",
        "one's own annotation on another learner's course",
        lambda me, other: {
            "user_id": me.user_id,
            "course_id": other.course_id,
            "feedback_type": FeedbackType.GENERAL,
        },
    ),
    (
        "user_progress",
        "progress as another learner",
        lambda me, other: {
            "user_id": other.user_id,
            "course_id": other.course_id,
            "chapter_id": other.chapter_id,
        },
    ),
    (
        "user_progress",
        "one's own progress on another learner's chapter",
        lambda me, other: {
            "user_id": me.user_id,
            "course_id": me.course_id,
            "chapter_id": other.chapter_id,
        },
    ),
    (
        "analogy_feedback",
        "analogy feedback as another learner",
        lambda me, other: {
            "user_id": other.user_id,
            "chapter_id": other.chapter_id,
            "analogy_id": uuid.uuid4(),
            "helpful": True,
        },
    ),
    (
        "analogy_feedback",
        "one's own analogy feedback on another learner's chapter",
        lambda me, other: {
            "user_id": me.user_id,
            "chapter_id": other.chapter_id,
            "analogy_id": uuid.uuid4(),
            "helpful": False,
        },
    ),
]

# A column every table's owner may change, and the value to change it to.
HARMLESS_UPDATES: dict[str, tuple[str, Any]] = {
    "users": ("last_login_at", func.now()),
    "user_profiles": ("age_range", "25-34"),
    "courses": ("name", "Renamed"),
    "course_documents": ("page_count", 99),
    "processed_documents": ("pipeline_version", "2.0.0"),
    "chapters": ("title", "Retitled"),
    "keywords": ("definition", "redefined"),
    "relationships": ("relationship_type", "enables"),
    "chapter_complexity": ("complexity_score", 55),
    "user_annotations": ("comment", "edited"),
    "user_progress": ("time_spent_seconds", 600),
    "analogy_feedback": ("comment", "edited"),
}

# Moving one's own row under another learner's data: (column, the other's value).
MOVES: dict[str, tuple[str, Callable[[SeededLearner], uuid.UUID]]] = {
    "user_profiles": ("user_id", lambda other: other.user_id),
    "courses": ("user_id", lambda other: other.user_id),
    "course_documents": ("course_id", lambda other: other.course_id),
    "processed_documents": ("course_id", lambda other: other.course_id),
    "chapters": ("processed_id", lambda other: other.processed_id),
    "keywords": ("chapter_id", lambda other: other.chapter_id),
    "relationships": ("target_keyword_id", lambda other: other.keyword_ids[0]),
    "chapter_complexity": ("chapter_id", lambda other: other.chapter_id),
    "user_annotations": ("course_id", lambda other: other.course_id),
    "user_progress": ("chapter_id", lambda other: other.chapter_id),
    "analogy_feedback": ("chapter_id", lambda other: other.chapter_id),
}


def a_row_of(learner: SeededLearner, table: str) -> uuid.UUID:
    return min(learner.rows(table))


def update_row(
    connection: Connection, table: str, row_id: uuid.UUID, column: str, value: Any
) -> int:
    t = metadata.tables[table]
    result = connection.execute(
        update(t).where(t.c[primary_key_column(table)] == row_id).values({column: value})
    )
    return result.rowcount


def delete_row(connection: Connection, table: str, row_id: uuid.UUID) -> int:
    t = metadata.tables[table]
    return connection.execute(delete(t).where(t.c[primary_key_column(table)] == row_id)).rowcount


def test_every_protected_table_has_insert_cases() -> None:
    assert {table for table, _, _ in FOREIGN_ROWS} == set(RLS_TABLES)
    assert HARMLESS_UPDATES.keys() == RLS_TABLES.keys()
    assert MOVES.keys() == RLS_TABLES.keys() - {"users"}


@pytest.mark.parametrize("table", TABLES)
def test_select_shows_a_learner_exactly_their_own_rows(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner], table: str
) -> None:
    first, second = learners
    set_transaction_user(app_connection, first.user_id)
    assert visible(app_connection, table) == first.rows(table)
    set_transaction_user(app_connection, second.user_id)
    assert visible(app_connection, table) == second.rows(table)


@pytest.mark.parametrize("table", TABLES)
def test_insert_lets_a_learner_build_their_own_graph(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner], table: str
) -> None:
    newcomer = uuid.uuid4()
    set_transaction_user(app_connection, newcomer)
    with Session(bind=app_connection, join_transaction_mode="create_savepoint") as session:
        mine = seed_learner(session, newcomer)
        assert visible(app_connection, table) == mine.rows(table)


@pytest.mark.parametrize(
    ("table", "rows"),
    [pytest.param(table, rows, id=f"{table}: {why}") for table, why, rows in FOREIGN_ROWS],
)
def test_insert_into_another_learners_data_is_rejected_by_the_policy(
    app_connection: Connection,
    learners: tuple[SeededLearner, SeededLearner],
    table: str,
    rows: Rows,
) -> None:
    me, other = learners
    set_transaction_user(app_connection, me.user_id)
    with denied_by_policy(table), app_connection.begin_nested():
        app_connection.execute(insert(metadata.tables[table]).values(rows(me, other)))


@pytest.mark.parametrize("table", TABLES)
def test_update_reaches_own_rows_and_not_another_learners(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner], table: str
) -> None:
    me, other = learners
    column, value = HARMLESS_UPDATES[table]
    set_transaction_user(app_connection, me.user_id)
    assert update_row(app_connection, table, a_row_of(me, table), column, value) == 1
    assert update_row(app_connection, table, a_row_of(other, table), column, value) == 0


@pytest.mark.parametrize("table", sorted(MOVES))
def test_update_cannot_move_own_row_under_another_learner(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner], table: str
) -> None:
    me, other = learners
    column, their_value = MOVES[table]
    set_transaction_user(app_connection, me.user_id)
    # Where the application may update some columns only, the move is refused by
    # the grant, before any policy.
    refused = denied_by_policy if "UPDATE" in GRANTS[APP_ROLE][table] else denied_by_grant
    with refused(table), app_connection.begin_nested():
        update_row(app_connection, table, a_row_of(me, table), column, their_value(other))


@pytest.mark.parametrize(("column", "value"), [("role", "admin"), ("user_id", uuid.uuid4())])
def test_a_learner_cannot_change_their_role_or_id(
    app_connection: Connection,
    learners: tuple[SeededLearner, SeededLearner],
    column: str,
    value: object,
) -> None:
    me, _ = learners
    set_transaction_user(app_connection, me.user_id)
    with denied_by_grant("users"), app_connection.begin_nested():
        update_row(app_connection, "users", me.user_id, column, value)


def test_a_learner_cannot_sign_up_as_staff(app_connection: Connection) -> None:
    newcomer = uuid.uuid4()
    set_transaction_user(app_connection, newcomer)
    with denied_by_grant("users"), app_connection.begin_nested():
        app_connection.execute(
            insert(metadata.tables["users"]).values(
                user_id=newcomer, cognito_sub=_tag(), email=f"{_tag()}@example.com", role="admin"
            )
        )


@pytest.mark.parametrize("table", TABLES)
def test_delete_reaches_own_rows_and_not_another_learners(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner], table: str
) -> None:
    me, other = learners
    set_transaction_user(app_connection, me.user_id)
    assert delete_row(app_connection, table, a_row_of(other, table)) == 0
    assert delete_row(app_connection, table, a_row_of(me, table)) == 1


@pytest.mark.parametrize(
    "no_context",
    [
        pytest.param(None, id="never set"),
        pytest.param("SELECT public.set_current_user_id(NULL)", id="cleared"),
        pytest.param("SELECT set_config('app.current_user_id', '', true)", id="empty"),
    ],
)
@pytest.mark.parametrize("table", TABLES)
def test_without_a_context_every_table_reads_empty_and_rejects_writes(
    app_connection: Connection,
    learners: tuple[SeededLearner, SeededLearner],
    table: str,
    no_context: str | None,
) -> None:
    first, second = learners
    if no_context is not None:
        app_connection.execute(text(no_context))
    assert visible(app_connection, table) == frozenset()
    column, value = HARMLESS_UPDATES[table]
    assert update_row(app_connection, table, a_row_of(first, table), column, value) == 0
    assert delete_row(app_connection, table, a_row_of(first, table)) == 0
    _, _, rows = next(entry for entry in FOREIGN_ROWS if entry[0] == table)
    with denied_by_policy(table), app_connection.begin_nested():
        app_connection.execute(insert(metadata.tables[table]).values(rows(second, first)))


def _parent_rows_read_by_a_heartbeat(connection: Connection, graph: LearnerGraph) -> int:
    """Rows of courses and chapters that a progress heartbeat's plan reads, as the learner."""
    connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    set_transaction_user(connection, graph.user.user_id)
    plan = connection.execute(
        text(
            "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE public.user_progress"
            " SET time_spent_seconds = time_spent_seconds + 30 WHERE progress_id = :progress"
        ),
        {"progress": graph.progress.progress_id},
    ).scalar_one()
    connection.execute(text("RESET ROLE"))
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in plan_nodes(plan[0]["Plan"])
        if node.get("Relation Name") in {"courses", "chapters"}
    )


def test_a_heartbeat_reads_no_parent_of_the_progress_row(
    owner_connection: Connection, owner_session: Session
) -> None:
    """The row's course and chapter were checked at its insert and the application
    cannot change them, so the update's WITH CHECK reads neither. The controls restore
    the checks it replaced: a probe of the row's course and chapter by key reads one
    of each, and an array of every chapter the learner can see reads all 21."""
    graph = make_learner_graph(owner_session)
    owner_session.add_all(
        Chapter(processed_document=graph.processed, chapter_number=number, title=f"Part {number}")
        for number in range(2, 22)
    )
    owner_session.flush()
    owner_connection.execute(text("RESET ROLE"))
    owner_connection.execute(text(f"GRANT {APP_ROLE} TO CURRENT_USER"))

    assert _parent_rows_read_by_a_heartbeat(owner_connection, graph) == 0

    owner_check = "user_id = (SELECT public.current_learner_id())"
    for check, parent_rows in (
        (
            " AND EXISTS (SELECT FROM public.courses c WHERE c.course_id = user_progress.course_id)"
            " AND EXISTS (SELECT FROM public.chapters ch"
            " WHERE ch.chapter_id = user_progress.chapter_id)",
            2,
        ),
        (" AND chapter_id = ANY (ARRAY(SELECT ch.chapter_id FROM public.chapters ch))", 21),
    ):
        owner_connection.execute(
            text(
                "ALTER POLICY progress_isolation_update ON public.user_progress"
                f" WITH CHECK ({owner_check}{check})"
            )
        )
        assert _parent_rows_read_by_a_heartbeat(owner_connection, graph) == parent_rows
