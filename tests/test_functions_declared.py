"""What every function the package declares promises, read from the database at head:
its search_path is pinned, it runs as its caller unless it says why not, its
volatility is the one its behaviour allows, and its source says what it does."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from sqlalchemy import Connection, text

from sensa_db.security import (
    DEFINER_SEARCH_PATH,
    DEFINERS,
    INVOKER_SEARCH_PATH,
    SCHEMA_OWNER_ROLE,
)
from sensa_db.sql_entities import SQL_DIRECTORIES

# The only functions that run as their owner, each for the reason in its comment.
SECURITY_DEFINER = {signature.partition("(")[0] for signature in DEFINERS}
IMMUTABLE = {
    "cosine_similarity",
    "generate_cache_key",
    "check_claim_arguments",
    "check_pipeline_result_shape",
    "check_search_arguments",
    "check_similarity_search",
}
STABLE = {
    "find_similar_documents",
    "find_similar_keywords",
    "get_course_stats",
    "get_user_progress_summary",
    "get_learner_streak",
    "get_learning_statistics",
    "get_pending_consensus",
    "get_feedback_summary",
    "search_courses",
    "search_keywords",
    "find_duplicate_document",
    "get_content_consensus",
    "current_learner_id",
    "schema_revision",
}
TRIGGER_FUNCTIONS = {
    "update_updated_at_column",
    "update_user_streak",
    "set_chapter_completed_at",
    "enforce_document_status_transition",
    "check_feedback_consensus",
    "validate_user_interests",
    "record_audit",
    "reject_audit_log_change",
    "inherit_owner_from_course",
    "inherit_owner_from_document",
    "inherit_owner_from_processed_document",
    "inherit_owner_from_chapter",
    "propagate_owner_to_documents",
    "propagate_owner_to_processed_document",
    "propagate_owner_to_chapters",
    "propagate_owner_to_chapter_contents",
    "stamp_annotation_cache_key",
    "check_relationship_keywords_owner",
}
# The worker's protocol (sensa_db/functions/pipeline.sql): volatile, they claim and write.
WORKER_PROTOCOL = {
    "claim_document",
    "claim_next_document",
    "require_document_claim",
    "materialize_pipeline_result",
    "complete_document_from_cache",
    "record_pipeline_result",
    "record_processing_failure",
}
# Volatile for what they do, not for being triggers: they change the session.
SESSION_SETTERS = {"set_current_user_id"}


def our_functions(connection: Connection) -> dict[str, tuple[str, bool, list[str]]]:
    rows = connection.execute(
        text(
            """
            SELECT p.proname, p.provolatile, p.prosecdef, coalesce(p.proconfig, '{}')
            FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
              AND NOT EXISTS (
                  SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
              )
            """
        )
    )
    return {row[0]: (row[1], row[2], list(row[3])) for row in rows}


def test_the_database_holds_exactly_the_declared_functions(connection: Connection) -> None:
    assert (
        set(our_functions(connection))
        == IMMUTABLE | STABLE | TRIGGER_FUNCTIONS | SESSION_SETTERS | WORKER_PROTOCOL
    )


def test_every_function_pins_its_search_path(connection: Connection) -> None:
    unpinned = {
        name
        for name, (_, _, config) in our_functions(connection).items()
        if not any(setting.startswith("search_path=") for setting in config)
    }
    assert unpinned == set()


def test_the_learner_context_is_one_call_per_statement_never_inlined(
    connection: Connection,
) -> None:
    """Inlined, its body would be parsed and copied into every policy at every
    planning; called, it is one InitPlan evaluated once per statement."""
    plan = "\n".join(
        connection.scalars(
            text("EXPLAIN (VERBOSE, COSTS OFF) SELECT (SELECT current_learner_id())")
        )
    )
    assert "InitPlan" in plan
    assert "current_learner_id()" in plan
    assert "current_setting('app.current_user_txn'" not in plan
    # The control: an SQL function without a SET clause is inlined, and EXPLAIN
    # then shows its body, not its name.
    connection.execute(
        text(
            "CREATE FUNCTION pg_temp.inlined_context() RETURNS text LANGUAGE sql STABLE"
            " AS $$ SELECT pg_catalog.current_setting('app.current_user_txn', true) $$"
        )
    )
    inlined = "\n".join(
        connection.scalars(text("EXPLAIN (VERBOSE, COSTS OFF) SELECT pg_temp.inlined_context()"))
    )
    assert "inlined_context()" not in inlined
    assert "current_setting('app.current_user_txn'" in inlined


# Called once in every request's transaction (the API names its learner first).
EVERY_REQUEST = {"set_current_user_id"}


def replanned_on_the_request_path(connection: Connection) -> set[str]:
    """The functions that another one calls, or that every request calls, and that
    are SQL functions with a SET clause: those cannot be inlined, and PostgreSQL
    parses and plans their queries again at each call, policies and all."""
    rows = connection.execute(
        text(
            """
            SELECT p.proname, l.lanname, p.proconfig IS NOT NULL, p.prosrc
            FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.pronamespace = 'public'::regnamespace
              AND NOT EXISTS (
                  SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
              )
            """
        )
    ).all()
    called = {
        name
        for name, *_ in rows
        if any(
            re.search(rf"\bpublic\.{name}\(", source)
            for caller, *_, source in rows
            if caller != name
        )
    }
    return {
        name
        for name, language, has_settings, _ in rows
        if language == "sql" and has_settings and name in called | EVERY_REQUEST
    }


def test_functions_on_the_request_path_are_planned_once_per_session(
    connection: Connection,
) -> None:
    """PL/pgSQL compiles a function once per session and keeps its plans; an SQL
    function with a SET clause is planned again at every call. As SQL,
    set_current_user_id() cost every request about 20 µs of server CPU and
    get_learner_streak() a quarter of the progress summary's (docs/BENCHMARKS.md)."""
    assert replanned_on_the_request_path(connection) == set()


def test_a_replanned_helper_on_the_request_path_is_found(owner_connection: Connection) -> None:
    """The control: an SQL helper with a SET clause, called by another function."""
    owner_connection.execute(text(f"RESET ROLE; SET LOCAL ROLE {SCHEMA_OWNER_ROLE}"))
    owner_connection.execute(
        text(
            "CREATE FUNCTION public.control_helper() RETURNS integer LANGUAGE sql STABLE"
            " SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;"
            " CREATE FUNCTION public.control_caller() RETURNS integer LANGUAGE sql STABLE"
            " AS $$ SELECT public.control_helper() $$"
        )
    )
    assert replanned_on_the_request_path(owner_connection) == {"control_helper"}


def test_only_the_listed_functions_run_as_their_owner(connection: Connection) -> None:
    definers = {name for name, (_, definer, _) in our_functions(connection).items() if definer}
    assert definers == SECURITY_DEFINER


def test_every_search_path_lists_pg_temp_last(connection: Connection) -> None:
    """Unlisted, pg_temp is searched first for relations and types: a caller's
    temporary domain or table would stand in for one a function names. Definers
    list no schema but pg_catalog; a function that may run inside a definer (a
    trigger it fires, a helper it calls) lists public, whose CREATE only the
    schema's owner holds, then pg_temp."""
    allowed = {
        True: [f"search_path={DEFINER_SEARCH_PATH}"],
        False: [f"search_path={DEFINER_SEARCH_PATH}", f"search_path={INVOKER_SEARCH_PATH}"],
    }
    assert {
        name: config
        for name, (_, definer, config) in our_functions(connection).items()
        if not {c for c in config if c.startswith("search_path=")} <= set(allowed[definer])
        or not any(c.startswith("search_path=") for c in config)
    } == {}


@pytest.mark.parametrize("signature", sorted(DEFINERS))
def test_each_definer_runs_as_its_declared_role(connection: Connection, signature: str) -> None:
    """A revision that recreates a definer (rather than replacing it) must hand it
    back to its role: owned by the schema's owner it would run with every table's
    rights, and see no rows under FORCEd row-level security."""
    owner = connection.scalar(
        text("SELECT proowner::regrole::text FROM pg_proc WHERE oid = CAST(:f AS regprocedure)"),
        {"f": f"public.{signature}"},
    )
    assert owner == DEFINERS[signature]


def test_volatility_matches_behaviour(connection: Connection) -> None:
    volatility = {name: v for name, (v, _, _) in our_functions(connection).items()}
    assert {n for n, v in volatility.items() if v == "i"} == IMMUTABLE
    assert {n for n, v in volatility.items() if v == "s"} == STABLE
    assert {n for n, v in volatility.items() if v == "v"} == (
        TRIGGER_FUNCTIONS | SESSION_SETTERS | WORKER_PROTOCOL
    )


def test_every_declaration_has_its_comment_block() -> None:
    root = resources.files("sensa_db")
    uncommented = []
    for directory in SQL_DIRECTORIES:
        folder = root.joinpath(directory)
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not path.name.endswith(".sql"):
                continue
            source = path.read_text()
            for match in re.finditer(
                r"^CREATE (OR REPLACE )?(FUNCTION|TRIGGER|POLICY)", source, re.M
            ):
                before = source[: match.start()].rstrip()
                if not before.endswith("*/"):
                    uncommented.append(f"{path.name}: {source[match.start() :].splitlines()[0]}")
    assert uncommented == []


def test_security_definer_comments_give_their_reason() -> None:
    root = resources.files("sensa_db")
    for directory in ("functions", "triggers"):
        for path in root.joinpath(directory).iterdir():
            if not path.name.endswith(".sql"):
                continue
            for block, definition in re.findall(
                r"/\*\*(.*?)\*/\s*(CREATE OR REPLACE FUNCTION .*?\$\$;)", path.read_text(), re.S
            ):
                if "SECURITY DEFINER" in definition:
                    assert "SECURITY DEFINER, " in block, definition.splitlines()[0]
                    assert "cannot leak rows" in block, definition.splitlines()[0]
