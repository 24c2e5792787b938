"""The loader that turns the package's SQL files into alembic_utils entities."""

from __future__ import annotations

import ast
from importlib import resources

import pytest
from alembic_utils import pg_function
from alembic_utils.statement import escape_colon_for_plpgsql
from hypothesis import given
from hypothesis import strategies as st

from sensa_db.sql_entities import (
    DOMAINS,
    SQL_DIRECTORIES,
    DeclaredEntity,
    PGFunction,
    PGPolicy,
    PGTrigger,
    SQLDeclarationError,
    check_load_order,
    escape_for_text,
    load_entities,
    parse_entity,
    python_lines_literal,
    split_documented_statements,
    split_statements,
    text_reading,
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


# Short texts over the characters that matter to text() and to Python literals.
SQL_TEXT = st.text(alphabet="ab1_:$=\\'\"\n\r ", max_size=12)


@given(SQL_TEXT)
def test_any_body_passes_through_text_unchanged_once_escaped(body: str) -> None:
    escaped = escape_for_text(body)
    assert escaped is not None
    assert text_reading(escaped) == body


def test_text_alone_would_alter_colons_and_backslashes() -> None:
    """The control: without the escape, text() takes :name for a parameter and eats a backslash."""
    assert text_reading("SELECT :name") is None
    assert text_reading(r"SELECT '\:x'") == "SELECT ':x'"
    # alembic_utils' own PL/pgSQL escape leaves \: as it is, so text() drops the backslash.
    assert text_reading(escape_colon_for_plpgsql(r"'\:x'")) == "':x'"


@given(SQL_TEXT)
def test_a_rendered_literal_reads_back_as_the_same_text(body: str) -> None:
    assert ast.literal_eval(python_lines_literal(body)) == body


def test_a_rendered_definition_is_multi_line_and_uses_the_library_class() -> None:
    source = "RETURNS text LANGUAGE sql AS $$\n    SELECT 'HH24:MI' -- a: note\n$$"
    function = PGFunction(schema="public", signature="clock()", definition=source)
    rendered = function.render_self_for_migration()
    assert "        \"    SELECT 'HH24:MI' -- a: note\\n\"\n" in rendered, (
        "a line of SQL, a line of code"
    )
    assert "sensa_db" not in rendered + function.render_import_statement()
    namespace: dict[str, object] = {"PGFunction": pg_function.PGFunction}
    exec(rendered, namespace)  # noqa: S102 - the code a revision holds
    replayed = namespace["public_clock"]
    assert isinstance(replayed, pg_function.PGFunction)
    assert text_reading(replayed.definition) == source


def test_a_plpgsql_body_alembic_utils_would_alter_is_rendered_already_escaped() -> None:
    source = "RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN '\\:x'; END $$"
    function = PGFunction(schema="public", signature="slash()", definition=source)
    rendered = function.render_self_for_migration()
    namespace: dict[str, object] = {"PGFunction": pg_function.PGFunction}
    exec(rendered, namespace)  # noqa: S102 - the code a revision holds
    replayed = namespace["public_slash"]
    assert isinstance(replayed, pg_function.PGFunction)
    assert text_reading(replayed.definition) == source
    assert "public_slash.definition = " in rendered


def test_every_sql_file_is_in_a_domain_and_every_listed_file_exists() -> None:
    root = resources.files("sensa_db")
    on_disk = {
        f"{directory}/{path.name}"
        for directory in SQL_DIRECTORIES
        for path in root.joinpath(directory).iterdir()
        if path.name.endswith(".sql")
    }
    indexed = {file for files in DOMAINS.values() for file in files}
    assert on_disk - indexed == set(), "add the file to sql_entities.DOMAINS"
    assert indexed - on_disk == set(), "DOMAINS names a file that does not exist"


STAMP_FUNCTION = """
CREATE OR REPLACE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END;
$$"""
STAMP_TRIGGER = """
CREATE TRIGGER stamp_users BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.stamp()"""


def declared(*statements: str) -> list[DeclaredEntity]:
    return [
        DeclaredEntity(parse_entity(text.strip()), None, "triggers/x.sql") for text in statements
    ]


def test_a_function_declared_before_its_trigger_loads() -> None:
    check_load_order(declared(STAMP_FUNCTION, STAMP_TRIGGER))


def test_a_trigger_before_its_function_breaks_the_load_order() -> None:
    with pytest.raises(SQLDeclarationError, match=r"calls public\.stamp\(\), declared later"):
        check_load_order(declared(STAMP_TRIGGER, STAMP_FUNCTION))


def _pointing_to_stamp(mention: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION public.check_stamp() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    {mention}
END;
$$"""


@pytest.mark.parametrize(
    "mention",
    [
        "RAISE EXCEPTION 'no stamp' USING HINT = 'run public.stamp() first';",
        "-- public.stamp() runs later\n    NULL;",
    ],
    ids=["in a string literal", "in a comment"],
)
def test_a_function_named_but_not_called_does_not_break_the_load_order(mention: str) -> None:
    check_load_order(declared(_pointing_to_stamp(mention), STAMP_FUNCTION))


def test_a_function_called_from_a_body_before_its_declaration_breaks_the_load_order() -> None:
    """The control for the literal and comment cases: the same name, called."""
    with pytest.raises(SQLDeclarationError, match=r"calls public\.stamp\(\), declared later"):
        check_load_order(declared(_pointing_to_stamp("PERFORM public.stamp();"), STAMP_FUNCTION))
