"""update_updated_at_column(): updated_at follows real changes, and only them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, text

PAST = datetime(2000, 1, 1, tzinfo=UTC)

# table -> (an INSERT giving updated_at explicitly, a column to change)
TABLES = {
    "users": (
        "INSERT INTO users (cognito_sub, email, updated_at) "
        "VALUES (:tag, :email, :past) RETURNING user_id",
        "email = email || '.org'",
    ),
    "courses": (
        "INSERT INTO courses (user_id, name, updated_at) "
        "VALUES (:user_id, 'Optics', :past) RETURNING course_id",
        "name = 'Wave optics'",
    ),
    "user_profiles": (
        "INSERT INTO user_profiles (user_id, updated_at) "
        "VALUES (:user_id, :past) RETURNING profile_id",
        "location = 'Lyon'",
    ),
}
KEY = {"users": "user_id", "courses": "course_id", "user_profiles": "profile_id"}


@pytest.fixture
def row(request: pytest.FixtureRequest, connection: Connection) -> tuple[str, uuid.UUID, str]:
    table: str = request.param
    tag = uuid.uuid4().hex
    user_id = connection.scalar(
        text("INSERT INTO users (cognito_sub, email) VALUES (:t, :email) RETURNING user_id"),
        {"t": f"owner-{tag}", "email": f"owner-{tag}@x.io"},
    )
    insert, change = TABLES[table]
    key = connection.scalar(
        text(insert), {"tag": tag, "email": f"{tag}@example.com", "past": PAST, "user_id": user_id}
    )
    return table, key, change


def updated_at(connection: Connection, table: str, key: uuid.UUID) -> datetime:
    value: datetime = connection.scalar(
        text(f"SELECT updated_at FROM {table} WHERE {KEY[table]} = :key"), {"key": key}
    )
    return value


def transaction_time(connection: Connection) -> datetime:
    value: datetime = connection.scalar(text("SELECT now()"))
    return value


@pytest.mark.parametrize("row", list(TABLES), indirect=True)
def test_a_change_stamps_updated_at_with_the_transaction_time(
    connection: Connection, row: tuple[str, uuid.UUID, str]
) -> None:
    table, key, change = row
    assert updated_at(connection, table, key) == PAST
    connection.execute(text(f"UPDATE {table} SET {change} WHERE {KEY[table]} = :key"), {"key": key})
    assert updated_at(connection, table, key) == transaction_time(connection)


@pytest.mark.parametrize("row", list(TABLES), indirect=True)
def test_an_update_that_changes_nothing_leaves_updated_at(
    connection: Connection, row: tuple[str, uuid.UUID, str]
) -> None:
    table, key, _ = row
    connection.execute(
        text(f"UPDATE {table} SET {KEY[table]} = {KEY[table]} WHERE {KEY[table]} = :key"),
        {"key": key},
    )
    assert updated_at(connection, table, key) == PAST


@pytest.mark.parametrize("row", list(TABLES), indirect=True)
def test_a_client_cannot_choose_updated_at(
    connection: Connection, row: tuple[str, uuid.UUID, str]
) -> None:
    table, key, _ = row
    connection.execute(
        text(f"UPDATE {table} SET updated_at = '1999-01-01' WHERE {KEY[table]} = :key"),
        {"key": key},
    )
    assert updated_at(connection, table, key) == transaction_time(connection)
