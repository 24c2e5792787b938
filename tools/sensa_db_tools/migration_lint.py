"""squawk over the SQL of every revision, one revision at a time.

Each revision is rendered on its own (``alembic upgrade <previous>:<revision>
--sql``) so that squawk judges it as it will run: a table created in the same
revision may take a plain index, an existing one may not. The rendered files
keep their revision file's name, so a finding names the revision.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory

SQUAWK_CONFIG = ".squawk.toml"


class LintSetupError(RuntimeError):
    """squawk or the revisions cannot be found."""


@dataclass(frozen=True)
class RenderedRevision:
    revision: str
    sql_file: Path


def squawk_executable() -> str:
    beside_python = Path(sys.executable).parent / "squawk"
    found = str(beside_python) if beside_python.is_file() else shutil.which("squawk")
    if found is None:
        raise LintSetupError("squawk is not installed: pip install 'sensa-db[dev]' (squawk-cli)")
    return found


def revisions_oldest_first(script: ScriptDirectory) -> list[Script]:
    return list(reversed(list(script.walk_revisions())))


def render_revision(config_path: Path, revision: Script) -> str:
    """The SQL ``alembic upgrade <previous>:<revision> --sql`` writes for one revision."""
    buffer = io.StringIO()
    config = Config(str(config_path), output_buffer=buffer)
    config.attributes["configure_logger"] = False
    down = revision.down_revision
    if isinstance(down, tuple):
        # A merge joins branches and carries no schema change of its own;
        # render it from its first parent.
        down = down[0]
    target = revision.revision if down is None else f"{down}:{revision.revision}"
    command.upgrade(config, target, sql=True)
    return buffer.getvalue()


def render_all(
    config_path: Path, into: Path, progress: Callable[[str], None] = lambda _: None
) -> Iterator[RenderedRevision]:
    script = ScriptDirectory.from_config(Config(str(config_path)))
    revisions = revisions_oldest_first(script)
    for number, revision in enumerate(revisions, start=1):
        progress(f"[{number}/{len(revisions)}] rendering {Path(revision.path).name}")
        sql_file = into / f"{Path(revision.path).stem}.sql"
        sql_file.write_text(render_revision(config_path, revision))
        yield RenderedRevision(revision.revision, sql_file)


def lint(
    config_path: Path,
    *,
    squawk_config: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> int:
    """Render every revision and run squawk over them; squawk's exit status (0: clean)."""
    chosen_config = squawk_config or config_path.parent / SQUAWK_CONFIG
    if not chosen_config.is_file():
        raise LintSetupError(f"no squawk configuration at {chosen_config}")
    squawk = squawk_executable()
    with tempfile.TemporaryDirectory(prefix="sensa-db-lint-") as workdir:
        rendered = list(render_all(config_path, Path(workdir), progress))
        progress(f"squawk: {len(rendered)} revision(s)")
        result = subprocess.run(  # noqa: S603 - our own arguments, no shell
            [squawk, "--config", str(chosen_config), *(str(r.sql_file) for r in rendered)],
            check=False,
        )
    return result.returncode
