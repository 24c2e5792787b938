"""What a login of the API, the worker or staff cannot reach, however it phrases
its SQL: the roles it is not, the worker's tables outside its protocol, another
learner's rows moved under its own, PostGIS's statistics, and unbounded work.
Each refusal has a control: the same statement where the right exists (or the
defence is taken away inside a rolled-back transaction) succeeds, so a refusal
for another reason would be caught."""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlalchemy import Connection, text

from sensa_db.security import (
    ADMIN_ROLE,
    APP_ROLE,
    DEFINER_ROLES,
    LOGIN_SETTINGS,
    SCHEMA_OWNER_ROLE,
    WORKER_ROLE,
)
from tests.rls import TEST_LOGINS, SeededLearner
from tests.security.attacker import attacker
from tests.security.conftest import World

INSUFFICIENT_PRIVILEGE = psycopg.errors.InsufficientPrivilege


@pytest.mark.parametrize("role", [APP_ROLE, WORKER_ROLE, ADMIN_ROLE])
@pytest.mark.parametrize(
    "statement",
    [
        *(f"GRANT {target} TO {{login}}" for target in (ADMIN_ROLE, SCHEMA_OWNER_ROLE)),
        *(f"SET ROLE {target}" for target in (SCHEMA_OWNER_ROLE, *DEFINER_ROLES)),
        "ALTER ROLE {login} CREATEROLE",
        "ALTER ROLE {login} BYPASSRLS",
    ],
)
def test_a_login_cannot_take_a_role_it_was_not_given(
    shared_database: str, test_logins: None, role: str, statement: str
) -> None:
    login = TEST_LOGINS[role]
    with attacker(shared_database, login) as attack, pytest.raises(INSUFFICIENT_PRIVILEGE):
        attack.execute(statement.format(login=login))


def test_control_the_owner_login_can_grant_what_a_login_cannot(
    owner_connection: Connection,
) -> None:
    """The migrating login may (it has CREATEROLE): why no definer runs as it."""
    owner_connection.execute(text("SET LOCAL ROLE NONE"))
    owner_connection.execute(text(f"GRANT {ADMIN_ROLE} TO {TEST_LOGINS[WORKER_ROLE]}"))
    assert owner_connection.scalar(
        text(f"SELECT pg_has_role('{TEST_LOGINS[WORKER_ROLE]}', '{ADMIN_ROLE}', 'MEMBER')")
    )


WORKER_DIRECT_WRITES = [
    pytest.param(
        "INSERT INTO document_claims (document_id, worker_id, pipeline_version, cache_key,"
        " claimed_at, lease_expires_at) VALUES (%(document)s, 'w', '1', 'k', now(),"
        " now() + interval '1 hour')",
        id="write a claim",
    ),
    pytest.param("UPDATE document_claims SET cache_key = 'other'", id="rewrite a claim's content"),
    pytest.param(
        "UPDATE course_documents SET processing_status = 'processing'"
        " WHERE document_id = %(document)s",
        id="move a document's status",
    ),
    pytest.param(
        "UPDATE chapters SET processed_id = %(their_processed)s WHERE chapter_id = %(my_chapter)s",
        id="move a chapter under another learner",
    ),
    pytest.param(
        "UPDATE keywords SET chapter_id = %(their_chapter)s WHERE keyword_id = %(my_keyword)s",
        id="move a keyword under another learner",
    ),
    pytest.param(
        "INSERT INTO relationships (chapter_id, source_keyword_id, target_keyword_id,"
        " relationship_type) VALUES (%(my_chapter)s, %(my_keyword)s, %(their_keyword)s, 'x')",
        id="relate two learners' keywords",
    ),
    pytest.param("DELETE FROM chapter_complexity", id="delete concept maps"),
    pytest.param(
        "INSERT INTO pipeline_results (cache_key, sha256_hash, pipeline_version, concept_map,"
        " chapters) VALUES ('k', repeat('a', 64), '1', '{}', '[]')",
        id="store a result",
    ),
    pytest.param(
        "SELECT materialize_pipeline_result(%(document)s, 'any cache key')",
        id="fill a document with any content",
    ),
    pytest.param(
        "SELECT require_document_claim(%(document)s, gen_random_uuid())", id="lock a claim"
    ),
]


def _ids(world: World) -> dict[str, object]:
    mine, theirs = world.mine, world.theirs
    return {
        "document": mine.document_id,
        "my_chapter": mine.chapter_id,
        "my_keyword": mine.keyword_ids[0],
        "their_processed": theirs.processed_id,
        "their_chapter": theirs.chapter_id,
        "their_keyword": theirs.keyword_ids[0],
    }


@pytest.mark.parametrize("statement", WORKER_DIRECT_WRITES)
def test_the_worker_writes_only_through_its_protocol(
    shared_database: str, test_logins: None, world: World, statement: str
) -> None:
    with (
        attacker(shared_database, TEST_LOGINS[WORKER_ROLE]) as attack,
        pytest.raises(INSUFFICIENT_PRIVILEGE),
    ):
        attack.execute(statement, _ids(world))  # type: ignore[arg-type]


def _learner_sees(connection: Connection, learner: SeededLearner, chapter: object) -> bool:
    connection.execute(
        text("SELECT set_config('app.current_user_id', :u, true)"), {"u": str(learner.user_id)}
    )
    connection.execute(
        text(
            "SELECT set_config('app.current_user_txn',"
            " CAST(EXTRACT(epoch FROM transaction_timestamp()) AS text), true)"
        )
    )
    connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    seen = connection.scalar(
        text("SELECT count(*) FROM chapters WHERE chapter_id = :c"), {"c": chapter}
    )
    connection.execute(text(f"SET LOCAL ROLE {ADMIN_ROLE}"))
    return seen == 1


def test_control_a_move_where_the_right_exists_shows_the_row_to_the_other_learner(
    owner_connection: Connection, world: World
) -> None:
    """Staff hold the UPDATE the worker lost: moved, the chapter takes its new
    parent's owner, and the other learner reads it. The refusal above is what
    keeps a worker's login from doing this."""
    owner_connection.execute(text("SET LOCAL ROLE NONE"))
    owner_connection.execute(text(f"GRANT {APP_ROLE} TO CURRENT_USER"))
    owner_connection.execute(text(f"SET LOCAL ROLE {ADMIN_ROLE}"))
    assert not _learner_sees(owner_connection, world.theirs, world.mine.chapter_id)
    owner_connection.execute(
        text("UPDATE chapters SET processed_id = :p, chapter_number = 99 WHERE chapter_id = :c"),
        {"p": world.theirs.processed_id, "c": world.mine.chapter_id},
    )
    assert _learner_sees(owner_connection, world.theirs, world.mine.chapter_id)


def test_a_relationship_joins_keywords_of_one_owner_whoever_writes_it(
    owner_connection: Connection, world: World
) -> None:
    relate = text(
        "INSERT INTO relationships (chapter_id, source_keyword_id, target_keyword_id,"
        " relationship_type) VALUES (:chapter, :source, :target, 'x')"
    )
    values = {
        "chapter": world.mine.chapter_id,
        "source": world.mine.keyword_ids[0],
        "target": world.theirs.keyword_ids[0],
    }
    with (
        pytest.raises(Exception, match="relationship_keywords_one_owner"),
        owner_connection.begin_nested(),
    ):
        owner_connection.execute(relate, values)
    # Control: without the rule's trigger, staff could write it.
    owner_connection.execute(text("SET LOCAL ROLE NONE"))
    owner_connection.execute(
        text("ALTER TABLE relationships DISABLE TRIGGER relationship_keywords_one_owner")
    )
    owner_connection.execute(text(f"SET LOCAL ROLE {ADMIN_ROLE}"))
    owner_connection.execute(relate, values)
    owner_connection.execute(
        relate, {**values, "target": world.mine.keyword_ids[1]}
    )  # and one owner's pair stays allowed


STATISTICS_CALLS = [
    "SELECT _postgis_stats('user_profiles', 'location_point')",
    "SELECT ST_EstimatedExtent('public', 'user_profiles', 'location_point')",
    "SELECT _postgis_index_extent('user_profiles', 'location_point')",
]


@pytest.mark.parametrize("role", [APP_ROLE, WORKER_ROLE])
@pytest.mark.parametrize("call", STATISTICS_CALLS)
def test_postgis_statistics_are_out_of_reach(
    shared_database: str, test_logins: None, role: str, call: str
) -> None:
    with (
        attacker(shared_database, TEST_LOGINS[role]) as attack,
        pytest.raises(INSUFFICIENT_PRIVILEGE),
    ):
        attack.execute(call)


def test_control_with_execute_the_statistics_tell_every_learners_extent(
    owner_connection: Connection, world: World
) -> None:
    owner_connection.execute(
        text(
            "UPDATE user_profiles SET location_point = ST_GeogFromText(:point)"
            " WHERE user_id = :learner"
        ),
        {"point": "POINT(151.2 -33.9)", "learner": world.theirs.user_id},
    )
    owner_connection.execute(text("SET LOCAL ROLE NONE"))
    owner_connection.execute(text("ANALYZE user_profiles"))
    owner_connection.execute(
        text(f"GRANT EXECUTE ON FUNCTION _postgis_stats(regclass, text, text) TO {APP_ROLE}")
    )
    owner_connection.execute(text(f"GRANT {APP_ROLE} TO CURRENT_USER"))
    owner_connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    stats = owner_connection.scalar(
        text("SELECT _postgis_stats('user_profiles', 'location_point')")
    )
    # Another learner's location, bounded to one point, past row-level security.
    extent = json.loads(stats)["extent"]
    assert json.loads(stats)["not_null_features"] == 1
    assert extent["min"] == extent["max"]


def test_large_objects_stay_with_the_login_that_made_them(
    shared_database: str, test_logins: None
) -> None:
    """PostgreSQL lets every role create large objects, and on RDS nobody can revoke
    EXECUTE on pg_catalog's functions (docs/SECURITY.md). What holds: a large
    object is read only by its owner and whom it grants (lo_compat_privileges is
    off), so it is no channel between logins unless the maker opens it."""
    with attacker(shared_database, TEST_LOGINS[APP_ROLE]) as maker:
        (row,) = maker.execute("SELECT lo_from_bytea(0, 'stashed')")
        made = row[0]
        assert maker.execute("SHOW lo_compat_privileges") == [("off",)]
        maker.connection.commit()
        try:
            with (
                attacker(shared_database, TEST_LOGINS[WORKER_ROLE]) as reader,
                pytest.raises(INSUFFICIENT_PRIVILEGE),
            ):
                reader.execute("SELECT lo_get(%s)", (made,))
            # Control: granted, the same read succeeds.
            maker.execute(f"GRANT SELECT ON LARGE OBJECT {made} TO {TEST_LOGINS[WORKER_ROLE]}")
            maker.connection.commit()
            with attacker(shared_database, TEST_LOGINS[WORKER_ROLE]) as reader:
                assert reader.execute("SELECT lo_get(%s)", (made,)) == [(b"stashed",)]
        finally:
            maker.execute("SELECT lo_unlink(%s)", (made,))
            maker.connection.commit()


@pytest.mark.parametrize("role", sorted(LOGIN_SETTINGS))
def test_every_login_gets_its_roles_timeouts(
    shared_database: str, test_logins: None, role: str
) -> None:
    with attacker(shared_database, TEST_LOGINS[role]) as login:
        for setting, value in LOGIN_SETTINGS[role].items():
            assert login.execute(f"SELECT current_setting('{setting}')") == [(value,)]


@pytest.mark.parametrize(
    ("call", "rule"),
    [
        ("SELECT * FROM search_keywords(repeat('a', 201))", "search_query_length"),
        (
            "SELECT * FROM search_courses(gen_random_uuid(), repeat('a', 201))",
            "search_query_length",
        ),
        ("SELECT * FROM search_keywords('cell', NULL, 0)", "search_limit_range"),
        ("SELECT * FROM search_keywords('cell', NULL, 101)", "search_limit_range"),
        ("SELECT * FROM search_keywords('cell', NULL, NULL)", "search_limit_range"),
        ("SELECT * FROM search_courses(gen_random_uuid(), 'cell', 1000000)", "search_limit_range"),
    ],
)
def test_search_arguments_have_ceilings(app_connection: Connection, call: str, rule: str) -> None:
    with pytest.raises(Exception, match=rule) as refused, app_connection.begin_nested():
        app_connection.execute(text(call))
    assert refused.value.orig.diag.constraint_name == rule  # type: ignore[attr-defined]


def test_search_arguments_at_their_ceilings_are_accepted(app_connection: Connection) -> None:
    app_connection.execute(text("SELECT * FROM search_keywords(repeat('a', 200), NULL, 100)"))
    app_connection.execute(text("SELECT * FROM search_courses(gen_random_uuid(), 'a', 1)"))
