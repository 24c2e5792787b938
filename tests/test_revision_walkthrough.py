"""docs/MIGRATION_GUIDELINES.md's "A full change, step by step", done on a scratch copy.

A column, an index and an enum value on course_documents: the models marked
where they go beyond the design, autogenerate, the review (the index moved to
a revision of its own, built concurrently), then every check the guidelines
name: squawk, upgrade, `alembic check`, downgrade and upgrade again, the
schema reference, and the design tests, which are not edited.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.alembic_sandbox import edit, run_alembic, scratch_repository
from tests.postgres import REPO_ROOT

# Alembic in subprocesses on a scratch copy: left out of the fast loop
# (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow

COLUMN = """    archived_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), info=beyond_design("when the learner put the document away")
    )
"""
INDEX = """        Index(
            "idx_documents_archived_at",
            "archived_at",
            postgresql_where=text("archived_at IS NOT NULL"),
            info=serves("a learner's archived documents"),
        ),
"""
VALUES_BEYOND_DESIGN = """VALUES_BEYOND_DESIGN: dict[enum.StrEnum, str] = {
    ProcessingStatus.ARCHIVED: "a document the learner put away, kept but not shown",
}"""
INDEX_REVISION = """def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    with op.get_context().autocommit_block():
        # A previous attempt may have left the index INVALID (a failed build)
        # or valid but unrecorded (killed before alembic_version moved).
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS public.idx_documents_archived_at")
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_documents_archived_at"
            " ON public.course_documents (archived_at) WHERE archived_at IS NOT NULL"
        )


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(f"SET LOCAL ROLE {SCHEMA_OWNER}")
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS public.idx_documents_archived_at")
"""
# A generated op.create_index(...) or op.drop_index(...) call, its arguments on lines of their own.
INDEX_CALL = re.compile(r"^    op\.(create|drop)_index\(\n(?:        .*\n)+?    \)\n", re.MULTILINE)


def change_the_models(repository: Path) -> None:
    model = repository / "sensa_db" / "models" / "course_document.py"
    edit(
        model,
        "    concept_map_owner_column,\n",
        "    beyond_design,\n    concept_map_owner_column,\n",
    )
    processed_at = (
        "    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))\n"
    )
    edit(model, processed_at, processed_at + COLUMN)
    task_index_end = (
        '            info=serves("the worker finding its document by pipeline task id"),\n'
        "        ),\n"
    )
    edit(model, task_index_end, task_index_end + INDEX)
    enums = repository / "sensa_db" / "models" / "enums.py"
    edit(enums, '    FAILED = "failed"\n', '    FAILED = "failed"\n    ARCHIVED = "archived"\n')
    edit(enums, "VALUES_BEYOND_DESIGN: dict[enum.StrEnum, str] = {}", VALUES_BEYOND_DESIGN)


def operations(path: Path, function: str) -> list[str]:
    """The op.<name> calls in ``function`` of the revision at ``path``, in order."""
    tree = ast.parse(path.read_text())
    (body,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    return [
        node.func.attr
        for node in ast.walk(body)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "op"
        and node.func.attr != "execute"
    ]


def move_the_index_out(revision: Path) -> None:
    source = revision.read_text()
    assert len(INDEX_CALL.findall(source)) == 2, source
    source = INDEX_CALL.sub("", source)
    timeouts = 'STATEMENT_TIMEOUT = "5min"\n'
    revision.write_text(
        source.replace(timeouts, timeouts + 'LOCK_TABLES = ("course_documents",)\n', 1)
    )


def write_the_index_revision(revision: Path) -> None:
    source = revision.read_text()
    revision.write_text(source[: source.index("def upgrade() -> None:")] + INDEX_REVISION)


def in_repository(repository: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """A module run from the scratch repository, whose own sensa_db comes first."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=repository,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


# alembic on a scratch copy, revision after revision: left out of the fast loop.
@pytest.mark.slow
def test_a_column_an_index_and_an_enum_value_pass_every_check(
    tmp_path: Path, migrated_database: str
) -> None:
    url = make_url(migrated_database).set(drivername="postgresql").render_as_string(False)
    repository = scratch_repository(tmp_path)
    for directory in ["tests", "docs"]:
        shutil.copytree(
            REPO_ROOT / directory,
            repository / directory,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(REPO_ROOT / ".squawk.toml", repository / ".squawk.toml")
    versions = repository / "alembic" / "versions"

    def alembic(*arguments: str) -> str:
        result = run_alembic(*arguments, url=url, cwd=repository)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr

    # 1. The models; 2. generate.
    change_the_models(repository)
    before = set(versions.glob("*.py"))
    alembic("revision", "--autogenerate", "-m", "archived documents")
    (generated,) = set(versions.glob("*.py")) - before
    assert operations(generated, "upgrade") == ["add_column", "create_index", "add_enum_value"]
    assert operations(generated, "downgrade") == [
        "drop_index",
        "drop_column",
        "drop_entity",
        "sync_enum_values",
        "create_entity",
    ]

    # 3. Review: the index in a revision of its own, built concurrently.
    move_the_index_out(generated)
    alembic("revision", "-m", "archived documents index")
    (index_revision,) = set(versions.glob("*.py")) - before - {generated}
    write_the_index_revision(index_revision)

    # 4. Check.
    lint = in_repository(repository, "-m", "sensa_db_tools.cli", "lint-migrations")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    alembic("upgrade", "head")
    assert "No new upgrade operations detected" in alembic("check")
    engine = create_engine(migrated_database, poolclass=NullPool)
    try:
        alembic("downgrade", "-2")
        with engine.connect() as connection:
            assert connection.scalar(
                text("SELECT enum_range(NULL::processing_status_enum)::text")
            ) == ("{pending,processing,completed,failed}")
        assert (
            "No new upgrade operations detected"
            in run_alembic("check", url=url, cwd=REPO_ROOT).stdout
        ), "the downgrade left the schema as the repository's head has it"
        alembic("upgrade", "head")
        with engine.connect() as connection:
            assert connection.scalar(
                text("SELECT to_regclass('public.idx_documents_archived_at') IS NOT NULL")
            )
    finally:
        engine.dispose()
    assert "No new upgrade operations detected" in alembic("check")

    docs = in_repository(repository, "-m", "sensa_db_tools.cli", "docs")
    assert docs.returncode == 0, docs.stderr
    assert "`archived_at`" in (repository / "docs" / "SCHEMA.md").read_text()
    design = in_repository(
        repository,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_schema_matches_design.py",
        "tests/test_cli.py::test_the_committed_schema_reference_is_up_to_date",
    )
    assert design.returncode == 0, design.stdout + design.stderr
    assert " passed" in design.stdout
