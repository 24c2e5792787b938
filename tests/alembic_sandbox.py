"""A throwaway copy of the Alembic project, for revisions that must never enter the repository.

Deliberately failing, interrupted or lint-breaking revisions are written into
a copy of alembic/ under a test's tmp_path and run with the real env.py,
as `alembic -c <copy>/alembic.ini` in a subprocess, exactly as a pipeline does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.postgres import REPO_ROOT


def repository_head() -> str:
    head = ScriptDirectory.from_config(Config(str(REPO_ROOT / "alembic.ini"))).get_current_head()
    assert head is not None
    return head


def scratch_repository(destination: Path) -> Path:
    """A copy of the package and its Alembic project, to edit as a developer would."""
    for name in ["alembic.ini", "pyproject.toml"]:
        shutil.copy(REPO_ROOT / name, destination / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ["alembic", "sensa_db"]:
        shutil.copytree(REPO_ROOT / name, destination / name, ignore=ignore)
    return destination


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path`` (a test's edit that must apply)."""
    source = path.read_text()
    assert source.count(old) == 1, f"{old!r} is not exactly once in {path}"
    path.write_text(source.replace(old, new))


class AlembicSandbox:
    def __init__(self, root: Path) -> None:
        shutil.copytree(
            REPO_ROOT / "alembic", root / "alembic", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy(REPO_ROOT / "alembic.ini", root / "alembic.ini")
        shutil.copy(REPO_ROOT / ".squawk.toml", root / ".squawk.toml")
        self.ini = root / "alembic.ini"
        self.versions = root / "alembic" / "versions"

    def add_revision(
        self,
        revision: str,
        *,
        upgrade: str,
        downgrade: str = "pass",
        down_revision: str | None = None,
        preamble: str = "",
    ) -> Path:
        """Write a revision whose upgrade()/downgrade() bodies are the given code."""
        path = self.versions / f"20990101_0000_{revision}_sandbox.py"
        path.write_text(
            f'''"""sandbox revision {revision}"""

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down_revision or repository_head()!r}
branch_labels = None
depends_on = None
{textwrap.dedent(preamble)}

def upgrade() -> None:
{textwrap.indent(textwrap.dedent(upgrade).strip(), "    ")}


def downgrade() -> None:
{textwrap.indent(textwrap.dedent(downgrade).strip(), "    ")}
'''
        )
        return path

    def revision_file(self, revision: str) -> Path:
        (path,) = self.versions.glob(f"*_{revision}_*.py")
        return path

    def alembic(
        self, *args: str, url: str | None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_alembic("-c", str(self.ini), *args, url=url, env=env)


def run_alembic(
    *args: str, url: str | None, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """``alembic`` in a subprocess; from a scratch repository, its own sensa_db comes first
    (alembic.ini's prepend_sys_path)."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if url is not None:
        environment["DATABASE_URL"] = url
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
