"""Format a revision alembic has just written, with ruff if it is installed.

alembic.ini's post-write hook runs ``python -m sensa_db.format_revision <file>``
after ``alembic revision``. ruff comes with the development extra, not with
the runtime: where neither the interpreter's environment nor PATH has it, the
revision stays as written and one line says so, instead of alembic failing
after the file exists (its own ``module`` hook exits 255 without ruff).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig


def ruff_executable() -> str | None:
    """ruff beside this interpreter (its virtual environment's scripts), else on PATH."""
    return shutil.which("ruff", path=sysconfig.get_path("scripts")) or shutil.which("ruff")


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python -m sensa_db.format_revision <revision file>", file=sys.stderr)
        return 2
    (path,) = arguments
    ruff = ruff_executable()
    if ruff is None:
        print(
            f"warning: ruff is not installed, {path} is left unformatted"
            " (pip install -e '.[dev]', then ruff check --fix and ruff format it)",
            file=sys.stderr,
        )
        return 0
    # As the former hooks: lint fixes, then formatting; what ruff reports stays
    # on screen, and the revision is kept whatever it says.
    subprocess.run([ruff, "check", "--fix", "--quiet", path], check=False)  # noqa: S603
    subprocess.run([ruff, "format", path], check=False)  # noqa: S603
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
