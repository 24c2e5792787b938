"""The development seeds: complete, idempotent, and never run against production."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from sensa_db.models import ComplexityLevel, LearningStyle, ProcessingStatus, UserRole, metadata
from sensa_db.security import ADMIN_ROLE
from sensa_db_tools.seeds import (
    LIVE_USER_THRESHOLD,
    SEED_FAILURE,
    ProductionGuardError,
    production_reason,
    seed,
    seed_id,
)
from tests.rls import as_login

SEEDED_TABLES = sorted(
    name for name in metadata.tables if name not in {"migrations_log", "audit_log"}
)


@pytest.fixture
def owner_engine(migrated_database: str) -> Iterator[Engine]:
    engine = create_engine(migrated_database, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def admin(migrated_database: str, test_logins: None) -> Iterator[Connection]:
    engine = create_engine(as_login(migrated_database, ADMIN_ROLE), poolclass=NullPool)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def counts(connection: Connection) -> dict[str, int]:
    connection.rollback()  # a fresh snapshot of what the seeds committed
    return {
        table: connection.scalar(text(f"SELECT count(*) FROM {table}")) for table in SEEDED_TABLES
    }


def values(connection: Connection, sql: str) -> set[object]:
    return set(connection.scalars(text(sql)))


def test_seeding_twice_adds_nothing(owner_engine: Engine, admin: Connection) -> None:
    with owner_engine.begin() as connection:
        first = seed(connection, environ={})
    after_first = counts(admin)
    assert first.inserted == after_first
    assert all(after_first.values())

    with owner_engine.begin() as connection:
        second = seed(connection, environ={})
    assert second.total == 0
    assert counts(admin) == after_first


def test_the_seeds_exercise_every_part_of_the_schema(
    owner_engine: Engine, admin: Connection
) -> None:
    with owner_engine.begin() as connection:
        seed(connection, environ={})
    admin.rollback()
    assert values(admin, "SELECT learning_style::text FROM user_profiles") >= {
        s.value for s in LearningStyle
    }
    assert values(admin, "SELECT role::text FROM users") == {r.value for r in UserRole}
    assert values(admin, "SELECT processing_status::text FROM course_documents") == {
        s.value for s in ProcessingStatus
    }
    assert values(
        admin, "SELECT error_message FROM course_documents WHERE processing_status = 'failed'"
    ) == {SEED_FAILURE}
    assert values(admin, "SELECT complexity_level::text FROM chapters") == {
        c.value for c in ComplexityLevel
    }
    assert values(admin, "SELECT is_cross_chapter FROM relationships") == {True, False}
    assert values(admin, "SELECT is_archived FROM courses") == {True, False}
    assert (
        admin.scalar(
            text(
                "SELECT count(*) FROM courses c WHERE NOT EXISTS"
                " (SELECT FROM course_documents d WHERE d.course_id = c.course_id)"
            )
        )
        >= 1
    )
    assert (
        admin.scalar(text("SELECT count(*) FROM processed_documents WHERE embedding IS NULL")) == 0
    )
    [group] = admin.execute(text("SELECT learner_count FROM get_pending_consensus(3)")).all()
    assert group.learner_count == 3
    [streak] = admin.execute(
        text("SELECT * FROM get_learner_streak(:u)"), {"u": seed_id("user", "ada")}
    ).all()
    assert tuple(streak)[:2] == (5, 6)
    assert admin.scalar(text("SELECT count(*) FROM user_progress WHERE badges <> '[]'::jsonb")) >= 2


def test_seeding_leaves_the_owner_without_admin_membership(owner_engine: Engine) -> None:
    with owner_engine.begin() as connection:
        seed(connection, environ={})
    with owner_engine.connect() as connection:
        assert (
            connection.scalar(
                text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": ADMIN_ROLE}
            )
            is False
        )
        assert connection.scalar(text("SELECT count(*) FROM users")) == 0, (
            "FORCEd RLS still hides rows"
        )


@pytest.mark.parametrize("variable", ["SENSA_ENV", "ENVIRONMENT", "APP_ENV"])
@pytest.mark.parametrize("value", ["production", "Prod", "live"])
def test_an_environment_that_says_production_is_refused_before_any_write(
    owner_engine: Engine, admin: Connection, variable: str, value: str
) -> None:
    with (
        pytest.raises(ProductionGuardError, match=f"{variable}={value} says production"),
        owner_engine.begin() as connection,
    ):
        seed(connection, environ={variable: value})
    assert set(counts(admin).values()) == {0}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://u@sensa.abc123.eu-west-1.rds.amazonaws.com/sensa", "is an RDS endpoint"),
        ("postgresql://u@localhost/sensa_production", "named like production"),
        ("postgresql://u@localhost/prod_copy", "named like production"),
    ],
)
def test_targets_that_look_like_production_are_named(url: str, reason: str) -> None:
    found = production_reason(make_url(url), {})
    assert found is not None
    assert reason in found


def test_a_development_target_is_not_refused() -> None:
    assert (
        production_reason(make_url("postgresql://u@localhost/sensa"), {"SENSA_ENV": "development"})
        is None
    )


def test_a_database_full_of_real_users_is_refused(owner_engine: Engine, admin: Connection) -> None:
    admin.execute(
        text(
            "INSERT INTO users (cognito_sub, email)"
            " SELECT 'real-' || n, 'person' || n || '@example.com' FROM generate_series(1, :n) n"
        ),
        {"n": LIVE_USER_THRESHOLD + 1},
    )
    admin.commit()
    with (
        pytest.raises(ProductionGuardError, match="looks live"),
        owner_engine.begin() as connection,
    ):
        seed(connection, environ={})
    assert counts(admin)["courses"] == 0
