"""validate_user_interests(): user_profiles.interests is a JSON array of distinct,
non-blank strings, at most 50 of them, each at most 100 characters."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.database_errors import refused
from tests.factories import make_user

VALID = [
    [],
    ["football"],
    ["a" * 100, "b"],
    [f"topic {n}" for n in range(50)],
    ["Football", "football"],
]
INVALID: list[tuple[Any, str, str]] = [
    ({"football": True}, "is_array", "must be a JSON array, not a JSON object"),
    ("football", "is_array", "not a JSON string"),
    ([f"topic {n}" for n in range(51)], "at_most_50", "at most 50 entries, not 51"),
    (["football", 7], "are_strings", "must be a string"),
    (["football", None], "are_strings", "must be a string"),
    (["football", ["nested"]], "are_strings", "must be a string"),
    (["football", ""], "not_blank", "must not be empty or blank"),
    (["   "], "not_blank", "must not be empty or blank"),
    (["a" * 101], "max_length", "at most 100 characters"),
    (["football", "cooking", "football"], "distinct", "must not repeat"),
]


@pytest.fixture
def user_id(session: Session) -> uuid.UUID:
    return make_user(session).user_id


def insert_profile(connection: Connection, user_id: uuid.UUID, interests: Any) -> None:
    connection.execute(
        text("INSERT INTO user_profiles (user_id, interests) VALUES (:u, CAST(:i AS jsonb))"),
        {"u": user_id, "i": json.dumps(interests)},
    )


@pytest.mark.parametrize("interests", VALID)
def test_valid_interests_are_stored(
    connection: Connection, user_id: uuid.UUID, interests: list[str]
) -> None:
    insert_profile(connection, user_id, interests)
    stored = connection.scalar(
        text("SELECT interests FROM user_profiles WHERE user_id = :u"), {"u": user_id}
    )
    assert stored == interests


@pytest.mark.parametrize(("interests", "rule", "message"), INVALID)
def test_invalid_interests_are_refused_naming_the_rule(
    connection: Connection, user_id: uuid.UUID, interests: Any, rule: str, message: str
) -> None:
    with refused(
        connection, "23514", constraint=f"user_profiles_interests_{rule}", message=message
    ):
        insert_profile(connection, user_id, interests)


@pytest.mark.parametrize(("interests", "rule", "message"), INVALID[:4])
def test_an_update_is_held_to_the_same_rules(
    connection: Connection, user_id: uuid.UUID, interests: Any, rule: str, message: str
) -> None:
    insert_profile(connection, user_id, ["chess"])
    with refused(
        connection, "23514", constraint=f"user_profiles_interests_{rule}", message=message
    ):
        connection.execute(
            text("UPDATE user_profiles SET interests = CAST(:i AS jsonb) WHERE user_id = :u"),
            {"u": user_id, "i": json.dumps(interests)},
        )
    connection.execute(
        text('UPDATE user_profiles SET interests = \'["chess", "go"]\' WHERE user_id = :u'),
        {"u": user_id},
    )
