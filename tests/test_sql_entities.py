"""The loader that turns the package's SQL files into alembic_utils entities."""

from __future__ import annotations

import pytest
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_policy import PGPolicy
from alembic_utils.pg_trigger import PGTrigger

from sensa_db.sql_entities import (
    SQLDeclarationError,
    load_entities,
    parse_entity,
    split_documented_statements,
    split_statements,
)

DOMAIN_FILE = """
/**
 * Guards nothing; a function; its body has ; inside $$ and a 'quoted;' string.
 */
CREATE OR REPLACE FUNCTION public.answer()
RETURNS integer LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
BEGIN
    RAISE NOTICE 'it''s; fine';  -- a comment; with a semicolon
    RETURN 42;
END;
$$;

/* Fires answer() for nothing. */
CREATE TRIGGER answer_on_users BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.answer();

CREATE POLICY users_self ON public.users FOR SELECT USING (true);
CREATE OR REPLACE FUNCTION public.tagged() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' $body$;
"""


def test_statements_split_only_on_top_level_semicolons() -> None:
    statements = split_statements(DOMAIN_FILE)
    assert len(statements) == 4
    assert "RETURN 42;" in statements[0]
    assert "'it''s; fine'" in statements[0]
    assert not any("/**" in s or "Fires answer()" in s for s in statements)
    assert "-- a comment; with a semicolon" in statements[0], "a function body keeps its comments"
    assert statements[3].endswith("$body$ SELECT 'a;b' $body$")


def test_each_statement_keeps_only_its_own_documentation_block() -> None:
    docs = [doc for _, doc in split_documented_statements(DOMAIN_FILE)]
    assert docs == [
        "Guards nothing; a function; its body has ; inside $$ and a 'quoted;' string.",
        None,  # a plain /* */ comment is not documentation
        None,
        None,
    ]


def test_each_statement_becomes_its_entity() -> None:
    entities = [parse_entity(s) for s in split_statements(DOMAIN_FILE)]
    assert [type(e) for e in entities] == [PGFunction, PGTrigger, PGPolicy, PGFunction]
    assert [e.signature for e in entities] == [
        "answer()",
        "answer_on_users",
        "users_self",
        "tagged()",
    ]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE public.t (id int);", "not a schema-qualified"),
        ("CREATE FUNCTION public.f() RETURNS int AS $$ SELECT 1", "unterminated dollar quote"),
        ("SELECT 'open", "unterminated string literal"),
        ("CREATE POLICY p ON public.t USING (true)", "without a terminating semicolon"),
    ],
)
def test_malformed_declarations_are_refused_with_the_reason(sql: str, message: str) -> None:
    with pytest.raises(SQLDeclarationError, match=message):
        [parse_entity(s) for s in split_statements(sql)]


def test_the_package_declarations_all_parse() -> None:
    entities = load_entities()
    assert len({(type(e), e.identity) for e in entities}) == len(entities)
