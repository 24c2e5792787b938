"""The database's behaviour, declared as SQL in the package.

Functions live in ``sensa_db/functions/``, triggers in ``sensa_db/triggers/``
and row-level-security policies in ``sensa_db/policies/``: one ``.sql`` file per
domain, each statement under a ``/** ... */`` block saying what it guards.
Alembic's env.py registers them with alembic_utils, so ``alembic revision
--autogenerate`` writes their SQL, inlined, into a revision whenever a
definition changes, and ``alembic check`` fails while one is out of date.
Revisions never read these files: history must not move when they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_policy import PGPolicy
from alembic_utils.pg_trigger import PGTrigger
from alembic_utils.replaceable_entity import ReplaceableEntity

# Order matters: triggers call functions, policies may call functions too.
SQL_DIRECTORIES = ("functions", "triggers", "policies")
ENTITY_TYPES: tuple[type[ReplaceableEntity], ...] = (PGFunction, PGTrigger, PGPolicy)


class SQLDeclarationError(ValueError):
    """A statement in the package's SQL is not a function, trigger or policy."""


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


def parse_entity(statement: str) -> ReplaceableEntity:
    for entity_type in ENTITY_TYPES:
        try:
            return entity_type.from_sql(statement)
        except Exception:  # noqa: S112 - alembic_utils signals "not mine" by raising
            continue
    raise SQLDeclarationError(
        "not a schema-qualified CREATE FUNCTION, CREATE TRIGGER or CREATE POLICY: "
        f"{statement[:80]!r}"
    )


@dataclass(frozen=True)
class DeclaredEntity:
    """A function, trigger or policy with the documentation block above it and its file."""

    entity: ReplaceableEntity
    doc: str | None
    source: str


def load_declared_entities() -> list[DeclaredEntity]:
    """Every function, trigger and policy the package declares, functions first, documented."""
    root = resources.files("sensa_db")
    declared: list[DeclaredEntity] = []
    for directory in SQL_DIRECTORIES:
        folder = root.joinpath(directory)
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir(), key=lambda p: p.name):
            if path.name.endswith(".sql"):
                declared.extend(
                    DeclaredEntity(parse_entity(statement), doc, f"{directory}/{path.name}")
                    for statement, doc in split_documented_statements(path.read_text())
                )
    return declared


def load_entities() -> list[ReplaceableEntity]:
    """Every function, trigger and policy the package declares, functions first."""
    return [declared.entity for declared in load_declared_entities()]
