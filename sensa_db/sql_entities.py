"""The database's behaviour, declared as SQL in the package.

Functions live in ``sensa_db/functions/``, triggers in ``sensa_db/triggers/``
and row-level-security policies in ``sensa_db/policies/``: one ``.sql`` file per
domain and kind, each statement under a ``/** ... */`` block saying what it
guards. ``DOMAINS`` below maps each domain to its files, so that a change to,
say, progress starts from one list. Alembic's env.py registers them with
alembic_utils, so ``alembic revision --autogenerate`` writes their SQL,
inlined, into a revision whenever a definition changes, and ``alembic check``
fails while one is out of date. Revisions never read these files: history
must not move when they do.

Load order, enforced by :func:`load_declared_entities` (env.py fails on a
breach before comparing anything): the directories load in
``SQL_DIRECTORIES`` order (functions, then triggers, then policies), files in
name order within each, statements in file order. Every function a statement
calls that the package declares must have been declared before it: a trigger
after the function it executes, a policy after the functions in its
expressions, a function after the functions its body calls. A revision
creates the entities in this order, so a fresh database never meets a
reference to something not yet there.

alembic_utils keeps a definition as the text it hands to SQLAlchemy's
``text()``, with colons escaped, and writes that escaped text into revisions,
whose constructors escape it again: a colon in a LANGUAGE sql body or a policy
reached the database as ``\\:``. The classes here keep each definition verbatim,
escape it once for ``text()`` (exactly, for every kind of body), and render it
into revisions one string literal per line of SQL, replaying to the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from alembic_utils import pg_function, pg_policy, pg_trigger
from alembic_utils.replaceable_entity import ReplaceableEntity
from alembic_utils.statement import strip_terminating_semicolon
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import compiler

# The load order (see the module's docstring): each kind may use the ones before it.
SQL_DIRECTORIES = ("functions", "triggers", "policies")

# Where each domain's SQL is, by kind: the files to read (and change) together.
# tests/test_sql_entities.py fails while a .sql file is in no domain.
DOMAINS: dict[str, tuple[str, ...]] = {
    "request context (the learner a transaction acts for)": ("functions/request_context.sql",),
    "accounts: users and profiles": ("policies/accounts.sql", "triggers/profiles.sql"),
    "courses and uploaded documents": (
        "policies/courses.sql",
        "functions/documents.sql",
        "triggers/documents.sql",
    ),
    "the document pipeline: claims, results stored once, materialised concept maps": (
        "functions/pipeline.sql",
    ),
    "concept maps and their stamped owner": (
        "policies/concept_maps.sql",
        "triggers/ownership.sql",
    ),
    "progress and streaks": (
        "functions/progress.sql",
        "triggers/progress.sql",
        "policies/learning.sql",
    ),
    "feedback and consensus": (
        "functions/feedback.sql",
        "triggers/feedback.sql",
        "policies/learning.sql",
    ),
    "search and vectors": ("functions/search.sql", "functions/vectors.sql"),
    "audit log and timestamps (every table)": ("triggers/audit.sql", "triggers/timestamps.sql"),
    "schema history (the revision the database is at)": ("functions/schema_history.sql",),
}


class SQLDeclarationError(ValueError):
    """A statement in the package's SQL is not a function, trigger or policy."""


# Named paramstyle: a compiled text() shows its text as the driver receives it,
# without pyformat's doubled percent signs.
_TEXT_DIALECT = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]


def text_reading(escaped: str) -> str | None:
    """The SQL that ``text(escaped)`` sends, or None if it reads a bind parameter in it."""
    clause = text(escaped)
    if clause._bindparams:
        return None
    return str(clause.compile(dialect=_TEXT_DIALECT))


def escape_for_text(sql: str) -> str | None:
    """``sql`` escaped so that ``text()`` sends it unchanged, or None if it would not.

    Each colon that text() would read as a bind parameter gets a backslash, and
    each backslash text() would take for such an escape gets another: the
    inverse of SQLAlchemy's own two patterns, checked by reading the result back.
    """
    pieces: list[str] = []
    for i, char in enumerate(sql):
        pattern = {"\\": compiler.BIND_PARAMS_ESC, ":": compiler.BIND_PARAMS}.get(char)
        if pattern is not None and pattern.match(sql, i):
            pieces.append("\\")
        pieces.append(char)
    escaped = "".join(pieces)
    return escaped if text_reading(escaped) == sql else None


def python_lines_literal(value: str, indent: str = "    ") -> str:
    """A Python expression of ``value``, one string literal per line (for a readable diff).

    Not a triple-quoted literal: Alembic indents the code it renders, and
    would indent the text inside one too.
    """
    lines = value.splitlines(keepends=True)
    if len(lines) <= 1:
        return repr(value)
    inner = "".join(f"\n{indent}    {line!r}" for line in lines)
    return f"({inner}\n{indent})"


class _VerbatimDefinition:
    """Keeps an alembic_utils entity's definition verbatim and renders it readable and exact.

    Mixed into subclasses that keep the library's class names, so that
    identities in `alembic check` output and the code rendered into revisions
    (which use the library's classes, never this package) read the same.
    """

    library_class: Any
    verbatim_definition: str
    definition: str

    def _keep_verbatim(self, definition: str) -> None:
        self.verbatim_definition = strip_terminating_semicolon(definition)
        # A body no escape can carry keeps the library's escaping;
        # load_declared_entities refuses such a body in the package.
        self.definition = escape_for_text(self.verbatim_definition) or self.definition

    if TYPE_CHECKING:  # provided by the entity classes this is mixed into

        def constructor_arguments(self) -> dict[str, Any]: ...

        def to_variable_name(self) -> str: ...

    def render_self_for_migration(self, omit_definition: bool = False) -> str:
        variable = self.to_variable_name()
        arguments = self.constructor_arguments()
        lines = [f"{variable} = {self.library_class.__name__}("]
        lines += [f"    {name}={value!r}," for name, value in arguments.items()]
        lines += [f"    definition={python_lines_literal(self.verbatim_definition)},", ")"]
        replayed = self.library_class(**arguments, definition=self.verbatim_definition)
        if text_reading(replayed.definition) != self.verbatim_definition:
            lines += [
                "# alembic_utils would alter this body's colons or backslashes on its way",
                "# to the database: its text, escaped once for SQLAlchemy's text().",
                f"{variable}.definition = {python_lines_literal(self.definition, indent='')}",
            ]
        return "\n".join(lines) + "\n"

    @classmethod
    def render_import_statement(cls) -> str:
        library = cls.library_class
        return f"from {library.__module__} import {library.__name__}"


# Each class names ReplaceableEntity again: alembic_utils looks for the types
# whose dropped entities it reports among that class's direct subclasses.
class PGFunction(_VerbatimDefinition, pg_function.PGFunction, ReplaceableEntity):
    library_class = pg_function.PGFunction

    def __init__(self, schema: str, signature: str, definition: str) -> None:
        super().__init__(schema, signature, definition)
        self._keep_verbatim(definition)

    def constructor_arguments(self) -> dict[str, Any]:
        return {"schema": self.schema, "signature": self.signature}


class PGTrigger(_VerbatimDefinition, pg_trigger.PGTrigger, ReplaceableEntity):
    library_class = pg_trigger.PGTrigger

    def __init__(
        self,
        schema: str,
        signature: str,
        definition: str,
        on_entity: str,
        is_constraint: bool = False,
    ) -> None:
        super().__init__(schema, signature, definition, on_entity, is_constraint)
        self._keep_verbatim(definition)

    def constructor_arguments(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "signature": self.signature,
            "on_entity": self.on_entity,
            "is_constraint": self.is_constraint,
        }


class PGPolicy(_VerbatimDefinition, pg_policy.PGPolicy, ReplaceableEntity):
    library_class = pg_policy.PGPolicy

    def __init__(self, schema: str, signature: str, definition: str, on_entity: str) -> None:
        super().__init__(
            schema=schema, signature=signature, definition=definition, on_entity=on_entity
        )
        self._keep_verbatim(definition)

    def constructor_arguments(self) -> dict[str, Any]:
        return {"schema": self.schema, "signature": self.signature, "on_entity": self.on_entity}


SQLEntity = PGFunction | PGTrigger | PGPolicy
ENTITY_TYPES: tuple[type[SQLEntity], ...] = (PGFunction, PGTrigger, PGPolicy)


def split_statements(sql: str) -> list[str]:
    """Split SQL on top-level semicolons, dropping comments.

    Semicolons inside quotes, dollar-quoted bodies ($$ ... $$, $fn$ ... $fn$)
    and comments do not end a statement.
    """
    return [statement for statement, _ in split_documented_statements(sql)]


def _doc_text(block: str) -> str:
    """The text of a ``/** ... */`` block without its delimiters and leading asterisks."""
    lines = block.removeprefix("/**").removesuffix("*/").splitlines()
    stripped = [line.strip().removeprefix("*").removeprefix(" ") for line in lines]
    return "\n".join(stripped).strip()


def split_documented_statements(sql: str) -> list[tuple[str, str | None]]:
    """Like :func:`split_statements`, each statement with the ``/** ... */`` block above it.

    The block is the last documentation comment between the previous
    statement and this one; plain ``/* */`` and ``--`` comments are not documentation.
    """
    statements: list[tuple[str, str | None]] = []
    current: list[str] = []
    doc: str | None = None
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise SQLDeclarationError("unterminated /* comment")
            if sql.startswith("/**", i) and not "".join(current).strip():
                doc = _doc_text(sql[i : end + 2])
            i = end + 2
        elif char == "'":
            end = i + 1
            while True:
                end = sql.find("'", end)
                if end == -1:
                    raise SQLDeclarationError("unterminated string literal")
                if sql.startswith("''", end):
                    end += 2
                    continue
                break
            current.append(sql[i : end + 1])
            i = end + 1
        elif char == "$" and (tag_end := _dollar_tag_end(sql, i)) is not None:
            tag = sql[i : tag_end + 1]
            close = sql.find(tag, tag_end + 1)
            if close == -1:
                raise SQLDeclarationError(f"unterminated dollar quote {tag}")
            current.append(sql[i : close + len(tag)])
            i = close + len(tag)
        elif char == ";":
            statement = "".join(current).strip()
            if statement:
                statements.append((statement, doc))
            current, doc = [], None
            i += 1
        else:
            current.append(char)
            i += 1
    if "".join(current).strip():
        raise SQLDeclarationError(
            f"statement without a terminating semicolon: {''.join(current).strip()[:80]!r}"
        )
    return statements


def _dollar_tag_end(sql: str, start: int) -> int | None:
    """Index of the closing ``$`` of a dollar-quote tag opening at ``start``, if it is one."""
    end = start + 1
    while end < len(sql) and (sql[end].isalnum() or sql[end] == "_"):
        end += 1
    if end < len(sql) and sql[end] == "$" and not sql[start + 1 : end][:1].isdigit():
        return end
    return None


def parse_entity(statement: str) -> SQLEntity:
    for entity_type in ENTITY_TYPES:
        try:
            # from_sql builds cls(...), so the subclass, whatever its annotation says.
            return cast(SQLEntity, entity_type.from_sql(statement))
        except Exception:  # noqa: S112 - alembic_utils signals "not mine" by raising
            continue
    raise SQLDeclarationError(
        "not a schema-qualified CREATE FUNCTION, CREATE TRIGGER or CREATE POLICY: "
        f"{statement[:80]!r}"
    )


@dataclass(frozen=True)
class DeclaredEntity:
    """A function, trigger or policy with the documentation block above it and its file."""

    entity: SQLEntity
    doc: str | None
    source: str


def _function_name(entity: ReplaceableEntity) -> str:
    return f"{entity.schema}.{entity.signature.split('(', 1)[0].strip()}"


# String literals and line comments name functions without calling them (an
# error's HINT that points to another function, say).
_LITERAL_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|--[^\n]*")


def _calls(text: str, function_name: str) -> bool:
    schema, name = function_name.split(".", 1)
    code = _LITERAL_OR_COMMENT.sub(" ", text)
    return re.search(rf"(?<![\w.])(?:{schema}\.)?{re.escape(name)}\s*\(", code) is not None


def check_load_order(declared: list[DeclaredEntity]) -> None:
    """Refuse a statement that calls a package function declared after it (module docstring)."""
    functions = {
        _function_name(item.entity): index
        for index, item in enumerate(declared)
        if isinstance(item.entity, PGFunction)
    }
    for index, item in enumerate(declared):
        own = _function_name(item.entity) if isinstance(item.entity, PGFunction) else None
        for name, declared_at in functions.items():
            if name != own and declared_at > index and _calls(item.entity.definition, name):
                raise SQLDeclarationError(
                    f"{item.source}: {item.entity.signature} calls {name}(), declared later"
                    f" (in {declared[declared_at].source}): the load order is functions,"
                    " triggers, policies, files by name, statements in file order, and a"
                    " function must be declared before what calls it"
                )


def load_declared_entities() -> list[DeclaredEntity]:
    """Every function, trigger and policy the package declares, in load order, documented."""
    root = resources.files("sensa_db")
    files = tuple(
        (f"{directory}/{path.name}", path.read_text())
        for directory in SQL_DIRECTORIES
        if root.joinpath(directory).is_dir()
        for path in sorted(root.joinpath(directory).iterdir(), key=lambda p: p.name)
        if path.name.endswith(".sql")
    )
    return list(_declared_in(files))


@cache
def _declared_in(files: tuple[tuple[str, str], ...]) -> tuple[DeclaredEntity, ...]:
    # Keyed by the files' text. Parsing and checking them costs about a second;
    # a process that runs many upgrades (the kill sweep's forked runners, each
    # loading env.py) does it once.
    declared = [
        DeclaredEntity(parse_entity(statement), doc, source)
        for source, sql_text in files
        for statement, doc in split_documented_statements(sql_text)
    ]
    for item in declared:
        if escape_for_text(item.entity.verbatim_definition) is None:
            raise SQLDeclarationError(
                f"{item.source}: {item.entity.identity} has a colon or backslash sequence"
                " that SQLAlchemy's text() cannot pass on unchanged"
            )
    check_load_order(declared)
    return tuple(declared)


def load_entities() -> list[SQLEntity]:
    """Every function, trigger and policy the package declares, functions first."""
    return [declared.entity for declared in load_declared_entities()]
