"""`sensa-db`: every command answers --help, and says what to do when it cannot run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sensa_db import cli
from sensa_db.models import metadata
from sensa_db.schema_docs import render_schema_docs
from tests.postgres import REPO_ROOT

COMMANDS = ["up", "verify", "lint-migrations", "docs", "lock-budget", "kill-sweep"]


def test_the_console_script_lists_every_command() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "sensa-db"), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert f"    {command}" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    output = capsys.readouterr().out
    assert output.startswith(f"usage: sensa-db {command}")
    assert len(output.splitlines()) > 4


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


def test_up_outside_a_checkout_says_what_to_do_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "CHECKOUT_ROOT", tmp_path)
    assert cli.main(["up"]) == 2
    assert "run `alembic upgrade head`" in capsys.readouterr().err


def test_verify_without_a_configuration_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALEMBIC_CONFIG", raising=False)
    assert cli.main(["verify", "--url", "postgresql://u@h/d"]) == 2
    assert "no Alembic configuration at alembic.ini" in capsys.readouterr().err


def test_the_committed_schema_reference_is_up_to_date() -> None:
    assert (REPO_ROOT / "docs" / "SCHEMA.md").read_text() == render_schema_docs(), (
        "docs/SCHEMA.md is stale: run `sensa-db docs` and commit it"
    )


def mermaid_diagram(markdown: str) -> str:
    return markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]


def test_the_diagram_draws_every_table_and_foreign_key() -> None:
    diagram = mermaid_diagram(render_schema_docs())
    for table in metadata.tables.values():
        assert f"    {table.name} {{" in diagram
        for foreign_key in table.foreign_key_constraints:
            columns = ", ".join(column.name for column in foreign_key.columns)
            line = rf'^    {foreign_key.referred_table.name} \S+ {table.name} : "{columns}"$'
            assert re.search(line, diagram, re.MULTILINE), (table.name, columns)
    # A profile per user at most (unique user_id); many courses per user.
    assert '    users ||--o| user_profiles : "user_id"' in diagram
    assert '    users ||--o{ courses : "user_id"' in diagram


def test_docs_check_fails_on_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "SCHEMA.md"
    stale.write_text(render_schema_docs().replace("migrations_log", "migration_log", 1))
    assert cli.main(["docs", "--check", "--output", str(stale)]) == 1
    assert cli.main(["docs", "--output", str(stale)]) == 0
    assert cli.main(["docs", "--check", "--output", str(stale)]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_the_schema_reference_covers_every_table_and_departure() -> None:
    reference = render_schema_docs()
    for table in metadata.tables:
        assert f"### `{table}`" in reference
    assert "Departs from the design: an append-only log of events" in reference
    assert "serves: learners within a distance of a point (ST_DWithin)" in reference
