"""A developer's round trip, on a scratch copy of the repository.

Change the models and the package's SQL as a developer would (a nullable
column, an enum value added and one removed, a new table with a vector column,
an HNSW index and a foreign key, a LANGUAGE sql body with a colon, quotes, a
backslash and ``$$``, a policy), see `alembic check` fail, autogenerate, and
require of the revision exactly those operations, written readably, then
upgrade -> check clean -> downgrade -> upgrade. The working tree is never touched.

The enums changed here are ones nothing else depends on; tests/test_enum_sync.py
and tests/test_revision_walkthrough.py change ones that functions and a
trigger depend on.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from sensa_db.sql_entities import parse_entity, split_statements
from tests.alembic_sandbox import edit, run_alembic, scratch_repository

NEW_MODEL = '''
"""A link a learner keeps beside a course, embedded for search (a scratch model)."""

import uuid
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from sensa_db.models.base import Base, uuid_primary_key
from sensa_db.models.processed_document import EMBEDDING_DIMENSIONS, HNSW_OPTIONS


class CourseLink(Base):
    __tablename__ = "course_links"

    link_id: Mapped[uuid.UUID] = uuid_primary_key()
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE")
    )
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))

    __table_args__ = (Index("idx_course_links_embedding", "embedding", **HNSW_OPTIONS),)
'''

# Every character alembic_utils and SQLAlchemy's text() treat specially, in a
# PL/pgSQL body: a colon before a name, quotes, a backslash, $$ inside a
# differently tagged body.
OLD_BODY = """AS $$
BEGIN
    PERFORM
        pg_catalog.set_config('app.current_user_id', coalesce(CAST(p_user_id AS text), ''), true),
        pg_catalog.set_config(
            'app.current_user_txn',
            CAST(EXTRACT(epoch FROM pg_catalog.transaction_timestamp()) AS text),
            true
        );
END;
$$;"""
NEW_BODY = r"""AS $body$
BEGIN
    -- at 10:30: it's "quoted", C:\temp\new, $$ and :p_user_id stay as written
    PERFORM
        pg_catalog.set_config('app.current_user_id', coalesce(CAST(p_user_id AS text), ''), true),
        pg_catalog.set_config(
            'app.current_user_txn',
            CAST(EXTRACT(epoch FROM pg_catalog.transaction_timestamp()) AS text),
            true
        )
    WHERE 'HH24:MI' <> E'\\:';
END;
$body$;"""

POLICY_FILE = "sensa_db/policies/learning.sql"
POLICY = "feedback_isolation_insert"
OLD_POLICY_LINE = (
    "        AND EXISTS (SELECT FROM public.courses c"
    " WHERE c.course_id = user_annotations.course_id)"
)
NEW_POLICY_LINE = "        AND course_id IN (SELECT c.course_id FROM public.courses c)"


def make_the_changes(repository: Path) -> None:
    models = repository / "sensa_db" / "models"
    edit(
        models / "course.py",
        '    __tablename__ = "courses"\n',
        '    __tablename__ = "courses"\n    nickname: Mapped[str | None]\n',
    )
    edit(models / "enums.py", '    LOW = "low"\n', '    LOW = "low"\n    TRIVIAL = "trivial"\n')
    edit(models / "enums.py", '    READING = "reading"\n', "")
    (models / "course_link.py").write_text(NEW_MODEL)
    edit(
        models / "__init__.py",
        "from sensa_db.models.course import Course\n",
        "from sensa_db.models.course import Course\n"
        "from sensa_db.models.course_link import CourseLink  # noqa: F401\n",
    )
    edit(repository / "sensa_db" / "functions" / "request_context.sql", OLD_BODY, NEW_BODY)
    policy = policy_statement(repository)
    edit(repository / POLICY_FILE, policy, policy.replace(OLD_POLICY_LINE, NEW_POLICY_LINE))


def policy_statement(repository: Path) -> str:
    (statement,) = [
        s
        for s in split_statements((repository / POLICY_FILE).read_text())
        if f"POLICY {POLICY} " in s
    ]
    assert statement.count(OLD_POLICY_LINE) == 1
    return statement


def upgrade_operations(revision: ast.Module) -> list[str]:
    """Each op.<name>(first argument) call in upgrade(), but the template's SET LOCALs."""
    (upgrade,) = [
        n for n in revision.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"
    ]
    calls = []
    for node in ast.walk(upgrade):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "op"):
            continue
        if node.func.attr in {"execute", "f"}:  # the SET LOCALs, constraint names
            continue
        arguments = [ast.unparse(a) for a in node.args[:1]]
        arguments += [
            f"{k.arg}={ast.unparse(k.value)}"
            for k in node.keywords
            if k.arg in {"enum_name", "new_value", "new_values"}
        ]
        calls.append(f"{node.func.attr}({', '.join(arguments)})")
    return sorted(calls)


def rendered_definition(revision: ast.Module, variable: str) -> str:
    """The definition upgrade() gives ``variable``, as the Python literal reads."""
    (upgrade,) = [
        n for n in revision.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"
    ]
    for node in ast.walk(upgrade):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == variable:
            assert isinstance(node.value, ast.Call)
            (definition,) = [k.value for k in node.value.keywords if k.arg == "definition"]
            value = ast.literal_eval(definition)
            assert isinstance(value, str)
            return value
    raise AssertionError(f"{variable} is not assigned in upgrade()")


def catalog(connection: Connection) -> dict[str, object]:
    return {
        "complexity": connection.scalar(
            text("SELECT enum_range(NULL::complexity_level_enum)::text")
        ),
        "learning": connection.scalar(text("SELECT enum_range(NULL::learning_style_enum)::text")),
        "nickname": connection.scalar(
            text(
                "SELECT count(*) FROM information_schema.columns"
                " WHERE table_name = 'courses' AND column_name = 'nickname'"
            )
        ),
        "course_links": connection.scalar(
            text("SELECT to_regclass('public.course_links') IS NOT NULL")
        ),
        "body": connection.scalar(
            text("SELECT prosrc FROM pg_proc WHERE proname = 'set_current_user_id'")
        ),
    }


@pytest.mark.slow
def test_models_and_sql_changed_autogenerate_exactly_and_round_trip(
    tmp_path: Path, migrated_database: str
) -> None:
    url = make_url(migrated_database).set(drivername="postgresql").render_as_string(False)
    repository = scratch_repository(tmp_path)
    policy_before = policy_statement(repository)
    make_the_changes(repository)

    drifted = run_alembic("check", url=url, cwd=repository)
    assert drifted.returncode != 0
    for drift in [
        "complexity_level_enum",
        "learning_style_enum",
        "course_links",
        "nickname",
        "PGFunction: public.set_current_user_id",
        f"PGPolicy: public.{POLICY}",
    ]:
        assert drift in drifted.stderr + drifted.stdout, drift

    versions = repository / "alembic" / "versions"
    before = set(versions.glob("*.py"))
    generated = run_alembic(
        "revision", "--autogenerate", "-m", "a developer's round trip", url=url, cwd=repository
    )
    assert generated.returncode == 0, generated.stderr
    [revision_file] = set(versions.glob("*.py")) - before
    written = revision_file.read_text()
    revision = ast.parse(written)

    assert upgrade_operations(revision) == sorted(
        [
            "add_column('courses')",
            "add_enum_value(enum_name='complexity_level_enum', new_value='trivial')",
            "create_index('idx_course_links_embedding')",
            "create_table('course_links')",
            "replace_entity(public_set_current_user_id)",
            f"replace_entity(public_user_annotations_{POLICY})",
            "sync_enum_values(enum_name='learning_style_enum',"
            " new_values=['visual', 'auditory', 'kinesthetic'])",
        ]
    )
    assert "sensa_db" not in written
    assert "import pgvector.sqlalchemy" in written
    assert "pgvector.sqlalchemy.vector.VECTOR(dim=768)" in written
    assert 'sa.ForeignKeyConstraint(["course_id"],["courses.course_id"]' in "".join(written.split())
    assert "postgresql_using='hnsw'" in written.replace('"', "'")

    # Readable: the body is the package's text, line for line, and the
    # policy's diff against its previous text is the one changed line.
    new_body = NEW_BODY.removeprefix("AS $body$").removesuffix("$body$;")
    assert new_body in rendered_definition(revision, "public_set_current_user_id")
    policy_after = rendered_definition(revision, f"public_user_annotations_{POLICY}")
    changed = [
        line
        for line in difflib.unified_diff(
            parse_entity(policy_before).verbatim_definition.splitlines(),
            policy_after.splitlines(),
            lineterm="",
            n=0,
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == ["-" + OLD_POLICY_LINE, "+" + NEW_POLICY_LINE]

    engine = create_engine(migrated_database, poolclass=NullPool)
    try:
        assert run_alembic("upgrade", "head", url=url, cwd=repository).returncode == 0
        with engine.connect() as connection:
            upgraded = catalog(connection)
        assert upgraded == {
            "complexity": "{high,medium,low,trivial}",
            "learning": "{visual,auditory,kinesthetic}",
            "nickname": 1,
            "course_links": True,
            "body": new_body,
        }
        clean = run_alembic("check", url=url, cwd=repository)
        assert clean.returncode == 0, clean.stderr

        downgraded = run_alembic("downgrade", "-1", url=url, cwd=repository)
        assert downgraded.returncode == 0, downgraded.stderr
        with engine.connect() as connection:
            assert catalog(connection) == {
                "complexity": "{high,medium,low}",
                "learning": "{visual,auditory,kinesthetic,reading}",
                "nickname": 0,
                "course_links": False,
                "body": OLD_BODY.removeprefix("AS $$").removesuffix("$$;"),
            }
        again = run_alembic("upgrade", "head", url=url, cwd=repository)
        assert again.returncode == 0, again.stderr
        with engine.connect() as connection:
            assert catalog(connection) == upgraded
    finally:
        engine.dispose()
