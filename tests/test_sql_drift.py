"""Drift in the package's SQL is visible: after a function's body changes in
sensa_db without a new revision, `alembic check` fails, and `alembic revision
--autogenerate` writes the revision that brings the database in line.

Shown on a scratch copy of the repository (package, Alembic environment and
revisions), so the working tree is never touched.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.alembic_sandbox import edit, run_alembic, scratch_repository
from tests.postgres import REPO_ROOT

EDITED_FILE = Path("sensa_db/functions/documents.sql")
ORIGINAL_LINE = "RETURN lower(p_sha256) || ':' || p_pipeline_version;"
EDITED_LINE = "RETURN lower(p_sha256) || '/' || p_pipeline_version;"


def test_a_changed_function_body_fails_check_and_autogenerate_writes_the_fix(
    tmp_path: Path, migrated_database: str
) -> None:
    url = make_url(migrated_database).set(drivername="postgresql").render_as_string(False)
    repository = scratch_repository(tmp_path)
    assert run_alembic("check", url=url, cwd=repository).returncode == 0

    edit(repository / EDITED_FILE, ORIGINAL_LINE, EDITED_LINE)

    drifted = run_alembic("check", url=url, cwd=repository)
    assert drifted.returncode != 0
    assert "'PGFunction: public.generate_cache_key(p_sha256 text" in drifted.stderr

    versions = repository / "alembic" / "versions"
    before = set(versions.glob("*.py"))
    generated = run_alembic(
        "revision", "--autogenerate", "-m", "cache key form", url=url, cwd=repository
    )
    assert generated.returncode == 0, generated.stderr
    [revision] = set(versions.glob("*.py")) - before
    written = revision.read_text()
    assert "op.replace_entity(public_generate_cache_key)" in written
    assert "|| '/' || p_pipeline_version" in written
    assert "sensa_db" not in written
    assert written.count("PGFunction(") == 2, "the new body, and the old one for downgrade"

    upgraded = run_alembic("upgrade", "head", url=url, cwd=repository)
    assert upgraded.returncode == 0, upgraded.stderr
    assert run_alembic("check", url=url, cwd=repository).returncode == 0
    engine = create_engine(migrated_database, poolclass=NullPool)
    with engine.connect() as connection:
        key = connection.scalar(text("SELECT generate_cache_key(repeat('a', 64), '2.0')"))
    engine.dispose()
    assert key == "a" * 64 + "/2.0"

    downgraded = run_alembic("downgrade", "-1", url=url, cwd=repository)
    assert downgraded.returncode == 0, downgraded.stderr
    assert set(REPO_ROOT.joinpath("alembic", "versions").glob("*.py")) == {
        REPO_ROOT / "alembic" / "versions" / path.name for path in before
    }
