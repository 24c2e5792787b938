"""The utility functions run as their caller, so row-level security narrows what
they return: called as one learner, they never return another's rows, even
when asked for them by id. Both learners' graphs are built alike (same course
name, same embeddings, same keywords), so without the policies each would find
the other's."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text

from sensa_db.request_context import set_transaction_user
from tests.factories import EMBEDDING
from tests.rls import SeededLearner

VECTOR = "[" + ",".join(map(str, EMBEDDING)) + "]"


def ids(connection: Connection, sql: str, **params: object) -> set[uuid.UUID]:
    return set(connection.scalars(text(sql), params))


def test_the_learners_share_everything_but_ownership(
    connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    """As an admin, both learners' rows match: the learner tests below are not vacuous."""
    first, second = learners
    found = ids(
        connection,
        "SELECT course_id FROM find_similar_documents(CAST(:v AS vector), 10, 0.5)",
        v=VECTOR,
    )
    assert {first.course_id, second.course_id} <= found


@pytest.mark.parametrize(
    ("query", "column"),
    [
        ("SELECT course_id FROM find_similar_documents(CAST(:v AS vector), 10, 0.5)", "course_id"),
        (
            "SELECT keyword_id FROM find_similar_keywords(CAST(:v AS vector), 10, 0.5)",
            "keyword_ids",
        ),
        ("SELECT course_id FROM search_courses(:me, 'Cell Biolgy', 20)", "course_id"),
        ("SELECT keyword_id FROM search_keywords('mitochondria', NULL, 20)", "keyword_ids"),
    ],
)
def test_a_learner_finds_only_their_own_rows(
    app_connection: Connection,
    learners: tuple[SeededLearner, SeededLearner],
    query: str,
    column: str,
) -> None:
    me, other = learners
    set_transaction_user(app_connection, me.user_id)
    found = ids(app_connection, query, v=VECTOR, me=me.user_id)

    def owned(learner: SeededLearner) -> set[uuid.UUID]:
        value = getattr(learner, column)
        return set(value) if isinstance(value, tuple) else {value}

    assert found & owned(me), "the learner's own rows are found"
    assert not found & owned(other)


def test_asking_for_another_learners_courses_by_id_returns_nothing(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    me, other = learners
    set_transaction_user(app_connection, me.user_id)
    assert (
        ids(app_connection, "SELECT course_id FROM search_courses(:u, 'Cell', 20)", u=other.user_id)
        == set()
    )


def test_another_learners_course_statistics_are_not_disclosed(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    me, other = learners
    set_transaction_user(app_connection, me.user_id)
    [mine] = app_connection.execute(text("SELECT * FROM get_course_stats(:c)"), {"c": me.course_id})
    assert mine.total_documents == 1
    assert (
        app_connection.execute(
            text("SELECT * FROM get_course_stats(:c)"), {"c": other.course_id}
        ).all()
        == []
    )


def test_without_a_context_the_functions_return_nothing(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    assert (
        ids(
            app_connection,
            "SELECT course_id FROM find_similar_documents(CAST(:v AS vector), 10, 0.5)",
            v=VECTOR,
        )
        == set()
    )
    assert (
        ids(app_connection, "SELECT keyword_id FROM search_keywords('mitochondria', NULL, 20)")
        == set()
    )
