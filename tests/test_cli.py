"""`sensa-db`: every command answers --help, and says what to do when it cannot run."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from sensa_db.models import metadata
from sensa_db_tools import cli
from sensa_db_tools.schema_docs import render_schema_docs
from tests.postgres import REPO_ROOT

COMMANDS = [
    "up",
    "verify",
    "lint-migrations",
    "docs",
    "backup",
    "restore",
    "export-learner",
    "lock-budget",
    "kill-sweep",
]


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


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = (
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    return dict(subparsers.choices)


def url_options(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """For each subcommand of ``parser``, its option strings that name a URL."""
    return {
        name: {
            option
            for action in subparser._actions
            for option in action.option_strings
            if "url" in option
        }
        for name, subparser in subcommands(parser).items()
    }


def test_every_command_that_connects_spells_the_url_option_database_url() -> None:
    options = url_options(cli.build_parser())
    assert {name for name, found in options.items() if found} == {
        "verify",
        "seed",
        "backup",
        "restore",
        "export-learner",
        "benchmark",
        "lock-budget",
        "kill-sweep",
    }
    assert all(found <= {"--database-url"} for found in options.values()), options


def test_a_second_spelling_of_the_url_option_is_caught() -> None:
    parser = cli.build_parser()
    subcommands(parser)["verify"].add_argument("--url")
    assert url_options(parser)["verify"] == {"--database-url", "--url"}


def test_a_wrong_password_gives_sensa_db_one_line(
    shared_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_url(shared_database).set(password="not-the-password-s18")
    config = str(REPO_ROOT / "alembic.ini")
    code = cli.main(
        ["verify", "-c", config, "--database-url", url.render_as_string(hide_password=False)]
    )
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"sensa-db: cannot connect to database {url.database!r} at {url.host}:{url.port} as"
        f' {url.username}: password authentication failed for user "{url.username}"'
    ]


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
    assert cli.main(["verify", "--database-url", "postgresql://u@h/d"]) == 2
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
