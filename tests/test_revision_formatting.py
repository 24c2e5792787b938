"""`alembic revision` formats the file it wrote with ruff, and without ruff still succeeds."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.alembic_sandbox import scratch_repository

# Alembic in subprocesses on a scratch copy: left out of the fast loop
# (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow

# Directories without a ruff executable, for PATH.
SYSTEM_PATH = "/usr/bin:/bin"


def interpreter_without_ruff(directory: Path) -> Path:
    """A virtual environment that imports what this one does (a .pth file), but has no
    ruff executable beside its interpreter: a runtime-only installation."""
    venv.create(directory, with_pip=False)
    (site_packages,) = directory.glob("lib/python*/site-packages")
    # addsitedir, not a plain path line: the editable installs' own .pth files count too.
    (site_packages / "this_environment.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n"
    )
    return directory / "bin" / "python"


def revision(python: Path | str, repository: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    versions = repository / "alembic" / "versions"
    before = set(versions.glob("*.py"))
    result = subprocess.run(
        [str(python), "-m", "alembic", "revision", "-m", "an empty revision"],
        cwd=repository,
        env={**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "PATH": SYSTEM_PATH},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (written,) = set(versions.glob("*.py")) - before
    return result, written


def test_without_ruff_the_revision_is_written_with_a_one_line_warning(tmp_path: Path) -> None:
    (tmp_path / "repository").mkdir()
    repository = scratch_repository(tmp_path / "repository")
    result, written = revision(interpreter_without_ruff(tmp_path / "venv"), repository)
    warnings = [line for line in result.stderr.splitlines() if "warning" in line.lower()]
    assert warnings == [
        f"warning: ruff is not installed, {written} is left unformatted"
        " (pip install -e '.[dev]', then ruff check --fix and ruff format it)"
    ]
    assert "def upgrade() -> None:" in written.read_text()


def test_with_ruff_the_revision_is_formatted(tmp_path: Path) -> None:
    """The control: the same command in this environment, where ruff is installed."""
    repository = scratch_repository(tmp_path)
    result, written = revision(sys.executable, repository)
    assert "warning" not in result.stderr
    assert "1 file" in result.stdout  # ruff format's own report
    ruff = Path(sysconfig.get_path("scripts")) / "ruff"
    formatted = subprocess.run(
        [str(ruff), "format", "--check", str(written)], cwd=repository, check=False
    )
    assert formatted.returncode == 0
