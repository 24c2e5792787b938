"""Revision file names are short, whole titles: YYYYMMDD_HHMM_<rev>_<slug>.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

from sqlalchemy import make_url

from tests.alembic_sandbox import run_alembic, scratch_repository
from tests.postgres import REPO_ROOT

VERSIONS = REPO_ROOT / "alembic" / "versions"
REVISION_FILE = re.compile(r"^\d{8}_\d{4}_(?P<rev>[0-9a-f]{12})_(?P<slug>\w+)\.py$")
# Named before the rule, their slugs cut by alembic. A revision's file is
# history (sensa-db verify checks it), so they keep their names.
NAMED_BEFORE_THE_RULE = {"fc2b8325990b", "3a58bece9e60", "57f79cb3d8b7", "f0887d54cde3"}


def slug_limit() -> int:
    parser = ConfigParser(interpolation=None)
    parser.read(REPO_ROOT / "alembic.ini")
    return parser.getint("alembic", "truncate_slug_length")


def name_problem(path: Path) -> str | None:
    """Why ``path`` is not a short, whole revision name; None when it is."""
    match = REVISION_FILE.match(path.name)
    if match is None:
        return "not YYYYMMDD_HHMM_<rev>_<slug>.py"
    slug = match["slug"]
    if slug.endswith("_"):
        return "slug cut by alembic (trailing _)"
    if len(slug) > slug_limit():
        return f"slug of {len(slug)} characters, over {slug_limit()}"
    return None


def revision_of(path: Path) -> str:
    match = REVISION_FILE.match(path.name)
    return match["rev"] if match else path.name


def test_every_revision_named_after_the_rule_has_a_short_whole_slug() -> None:
    problems = {
        path.name: problem
        for path in VERSIONS.glob("*.py")
        if revision_of(path) not in NAMED_BEFORE_THE_RULE and (problem := name_problem(path))
    }
    assert problems == {}


def test_the_rule_catches_the_names_made_before_it() -> None:
    legacy = [path for path in VERSIONS.glob("*.py") if revision_of(path) in NAMED_BEFORE_THE_RULE]
    assert {revision_of(path) for path in legacy} == NAMED_BEFORE_THE_RULE
    assert all(name_problem(path) is not None for path in legacy)


LONG_MESSAGE = "utility functions for similarity search statistics and feedback"
REFUSAL = (
    "alembic: the message's slug 'utility_functions_for_similarity_search_statistics_and"
    "_feedback' has 63 characters, over truncate_slug_length (40)"
)
# Called from Python, alembic hands env.py no command line to read the message from.
FROM_PYTHON = (
    "import sys; from alembic import command; from alembic.config import Config;"
    " command.revision(Config('alembic.ini'), message=sys.argv[1], autogenerate=True)"
)


def test_a_message_too_long_is_refused_before_connecting(tmp_path: Path) -> None:
    """No database URL at all: the refusal comes before the comparison could begin."""
    repository = scratch_repository(tmp_path)
    versions = repository / "alembic" / "versions"
    before = set(versions.iterdir())
    refused = run_alembic(
        "revision", "--autogenerate", "-m", LONG_MESSAGE, url=None, cwd=repository
    )
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1].startswith(REFUSAL)
    assert "no database URL" not in refused.stderr
    assert set(versions.iterdir()) == before


def test_a_message_too_long_from_python_is_refused_and_nothing_written(
    tmp_path: Path, migrated_database: str
) -> None:
    url = make_url(migrated_database).set(drivername="postgresql").render_as_string(False)
    repository = scratch_repository(tmp_path)
    versions = repository / "alembic" / "versions"
    before = set(versions.iterdir())
    refused = subprocess.run(
        [sys.executable, "-c", FROM_PYTHON, LONG_MESSAGE],
        cwd=repository,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1].startswith(REFUSAL)
    assert set(versions.iterdir()) == before
