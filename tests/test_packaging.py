"""What ``pip install .`` gives the API: the runtime package alone, and it works alone.

The runtime's wheel is built from a copy of the sources, installed into a
directory of its own with no dependencies, and imported by an interpreter
that sees nothing but the standard library, that directory and the
distributions the wheel requires (without extras), taken from this virtualenv.
The tooling is the second distribution, tools/, with the console script.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from importlib import metadata as distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sensa_db.models import metadata
from sensa_db.sql_entities import DOMAINS, load_entities
from tests.postgres import REPO_ROOT

# Long: left out of the fast loop (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow

TOOLING_MODULES = ("cli", "seeds", "schema_docs", "migration_lint", "benchmark")


def pip(*args: str) -> None:
    """This interpreter's pip, offline: nothing is downloaded, no dependency is installed."""
    subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet", "--no-deps", "--no-index"],
        check=True,
        capture_output=True,
        text=True,
    )


def build_wheel(project: Path, output: Path) -> Path:
    pip("wheel", "--no-build-isolation", "--wheel-dir", str(output), str(project))
    (wheel,) = output.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def runtime_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the repository's root project, built from a copy (no build/ in the tree)."""
    source = tmp_path_factory.mktemp("runtime-source")
    for name in ["pyproject.toml", "README.md"]:
        shutil.copy(REPO_ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "sensa_db", source / "sensa_db", ignore=ignore)
    return build_wheel(source, tmp_path_factory.mktemp("runtime-wheel"))


@pytest.fixture(scope="module")
def tooling_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("tooling-source") / "tools"
    shutil.copytree(REPO_ROOT / "tools", source, ignore=shutil.ignore_patterns("__pycache__"))
    return build_wheel(source, tmp_path_factory.mktemp("tooling-wheel"))


def wheel_file(wheel: Path, name: str) -> str:
    """The text of ``<dist-info>/<name>`` in ``wheel``; empty when it has none."""
    with zipfile.ZipFile(wheel) as archive:
        paths = [item for item in archive.namelist() if item.endswith(f".dist-info/{name}")]
        return archive.read(paths[0]).decode() if paths else ""


def requirements(wheel: Path) -> list[Requirement]:
    """What installing the wheel without extras pulls in."""
    found = [
        Requirement(line.split(":", 1)[1].strip())
        for line in wheel_file(wheel, "METADATA").splitlines()
        if line.startswith("Requires-Dist:")
    ]
    return [req for req in found if req.marker is None or req.marker.evaluate({"extra": ""})]


def test_the_runtime_wheel_holds_the_runtime_and_no_tooling(runtime_wheel: Path) -> None:
    with zipfile.ZipFile(runtime_wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"sensa_db"}
    for module in ["models/__init__.py", "database.py", "request_context.py", "security.py"]:
        assert f"sensa_db/{module}" in names
    for module in ["migration_history.py", "migration_safety.py", "sql_entities.py", "py.typed"]:
        assert f"sensa_db/{module}" in names
    for module in ["pipeline.py", "replicas.py"]:
        assert f"sensa_db/{module}" in names
    assert {f"sensa_db/{file}" for files in DOMAINS.values() for file in files} <= set(names)
    tooling = [name for name in names if any(f"/{module}" in name for module in TOOLING_MODULES)]
    assert tooling == []
    assert "console_scripts" not in wheel_file(runtime_wheel, "entry_points.txt")
    assert {canonicalize_name(req.name) for req in requirements(runtime_wheel)}.isdisjoint(
        {"numpy", "matplotlib", "boto3", "pytest", "sensa-db-tools"}
    )


def test_the_tooling_wheel_holds_the_command_and_the_benchmark(tooling_wheel: Path) -> None:
    with zipfile.ZipFile(tooling_wheel) as archive:
        names = set(archive.namelist())
    for module in ["cli.py", "seeds.py", "schema_docs.py", "migration_lint.py"]:
        assert f"sensa_db_tools/{module}" in names
    assert "sensa_db_tools/benchmark/runner.py" in names
    assert not [name for name in names if name.startswith("sensa_db/")]
    assert "sensa-db = sensa_db_tools.cli:main" in wheel_file(tooling_wheel, "entry_points.txt")
    assert [req.name for req in requirements(tooling_wheel)] == ["sensa-db"]


def dependency_closure(roots: list[Requirement]) -> list[distributions.Distribution]:
    """The installed distributions ``roots`` need, with their own needs, extras followed
    (an extra asked for by a later requirement of a distribution already seen too)."""
    seen: dict[str, distributions.Distribution] = {}
    followed: set[tuple[str, str]] = set()
    pending = list(roots)
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        extras = {"", *requirement.extras} - {
            extra for seen_name, extra in followed if seen_name == name
        }
        if not extras:
            continue
        followed |= {(name, extra) for extra in extras}
        distribution = seen.setdefault(name, distributions.distribution(requirement.name))
        for line in distribution.requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in extras
            ):
                pending.append(needed)
    return list(seen.values())


def expose(distributions: list[distributions.Distribution], directory: Path) -> None:
    """Link each distribution's top-level packages and modules into ``directory``."""
    directory.mkdir()
    for distribution in distributions:
        site = Path(str(distribution.locate_file("")))
        tops = {Path(str(file)).parts[0] for file in distribution.files or []}
        for top in tops - {"..", "__pycache__"}:
            target = directory / top
            if (site / top).exists() and not target.exists():
                target.symlink_to(site / top)


def test_import_sensa_db_models_works_with_the_runtime_dependencies_alone(
    runtime_wheel: Path, tmp_path: Path
) -> None:
    installed = tmp_path / "installed"
    pip("install", "--target", str(installed), str(runtime_wheel))
    dependencies = tmp_path / "dependencies"
    expose(dependency_closure(requirements(runtime_wheel)), dependencies)
    program = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(installed)!r}, {str(dependencies)!r}]
        import sensa_db
        assert sensa_db.__file__.startswith({str(installed)!r}), sensa_db.__file__
        from sqlalchemy.orm import configure_mappers
        import sensa_db.models
        configure_mappers()
        import sensa_db.database, sensa_db.request_context, sensa_db.security
        import sensa_db.migration_history, sensa_db.migration_safety
        import sensa_db.pipeline, sensa_db.replicas
        from sensa_db.sql_entities import load_entities
        print(len(sensa_db.models.metadata.tables), len(load_entities()))
        for tooling in ("sensa_db_tools", "numpy", "matplotlib"):
            try:
                __import__(tooling)
            except ModuleNotFoundError:
                print("absent", tooling)
        """
    )
    # -S: no site-packages, so nothing but the paths above can be imported; the
    # tooling, installed in this virtualenv, must be absent there (the control).
    result = subprocess.run(
        [sys.executable, "-S", "-c", program],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    counts, *absent = result.stdout.splitlines()
    assert counts == f"{len(metadata.tables)} {len(load_entities())}"
    assert absent == ["absent sensa_db_tools", "absent numpy", "absent matplotlib"]
