"""public.current_learner_id(): the learner named by set_current_user_id() in this
transaction, and no one else; a session-level or hand-made setting names no one."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, text

from sensa_db.request_context import set_transaction_user
from sensa_db.security import CONTEXT_SETTING
from tests.rls import SeededLearner, visible

CURRENT_LEARNER = text("SELECT current_learner_id()")


def test_the_learner_named_in_the_transaction_is_the_context(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners
    set_transaction_user(app_connection, first.user_id)
    assert app_connection.scalar(CURRENT_LEARNER) == first.user_id
    assert visible(app_connection, "courses") == {first.course_id}


def test_it_holds_in_a_read_only_transaction(
    app_engine: Engine, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners
    with app_engine.connect() as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        set_transaction_user(conn, first.user_id)
        assert visible(conn, "courses") == {first.course_id}


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(f"SET {CONTEXT_SETTING} = '{{user}}'", id="session-level SET"),
        pytest.param(f"SET LOCAL {CONTEXT_SETTING} = '{{user}}'", id="SET LOCAL by hand"),
        pytest.param(f"SELECT set_config('{CONTEXT_SETTING}', '{{user}}', true)", id="set_config"),
    ],
)
def test_a_learner_not_named_through_set_current_user_id_is_no_one(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner], statement: str
) -> None:
    first, _ = learners
    app_connection.execute(text(statement.format(user=first.user_id)))
    assert app_connection.scalar(text(f"SELECT current_setting('{CONTEXT_SETTING}')")) == str(
        first.user_id
    )
    assert app_connection.scalar(CURRENT_LEARNER) is None
    assert visible(app_connection, "courses") == frozenset()


def test_a_name_set_for_the_session_ends_with_its_transaction(
    app_engine: Engine, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    """Both settings copied at session level, as a pooled connection would keep them."""
    first, _ = learners
    with app_engine.connect() as conn:
        with conn.begin():
            set_transaction_user(conn, first.user_id)
            for setting in (CONTEXT_SETTING, "app.current_user_txn"):
                conn.execute(
                    text(f"SELECT set_config('{setting}', current_setting('{setting}'), false)")
                )
            assert visible(conn, "courses") == {first.course_id}
        with conn.begin():
            assert conn.scalar(text(f"SELECT current_setting('{CONTEXT_SETTING}')")) == str(
                first.user_id
            )
            assert conn.scalar(CURRENT_LEARNER) is None
            assert visible(conn, "courses") == frozenset()
