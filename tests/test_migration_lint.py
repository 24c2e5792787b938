"""squawk over every revision's SQL: the repository's revisions pass, unsafe ones fail CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensa_db_tools.cli import main
from tests.alembic_sandbox import AlembicSandbox
from tests.postgres import REPO_ROOT

# squawk over revisions, one run per test: left out of the fast loop, whose revision
# workflow runs `sensa-db lint-migrations` itself; CI runs it.
pytestmark = pytest.mark.slow


def lint(config: Path, capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["lint-migrations", "-c", str(config)])
    captured = capfd.readouterr()
    return code, captured.out + captured.err


def test_every_revision_in_the_repository_passes(capfd: pytest.CaptureFixture[str]) -> None:
    code, output = lint(REPO_ROOT / "alembic.ini", capfd)
    assert code == 0, output
    assert "Found 0 issues" in output


def test_every_excluded_rule_says_why() -> None:
    lines = (REPO_ROOT / ".squawk.toml").read_text().splitlines()
    start = lines.index("excluded_rules = [")
    rules = lines[start + 1 : lines.index("]", start)]
    for number, line in enumerate(rules):
        if line.strip().startswith('"'):
            assert any(earlier.strip().startswith("#") for earlier in rules[:number]), line


@pytest.mark.parametrize(
    ("upgrade", "rule"),
    [
        (
            "op.add_column('users', sa.Column('nickname', sa.String(50), nullable=False))",
            "adding-required-field",
        ),
        (
            "op.create_index('idx_users_last_login_at', 'users', ['last_login_at'])",
            ("require-concurrent-index-creation"),
        ),
    ],
    ids=["not-null-without-default", "index-without-concurrently"],
)
def test_an_unsafe_revision_fails(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], upgrade: str, rule: str
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision("e1e1e1e1e1e1", upgrade=upgrade, downgrade="pass")
    code, output = lint(sandbox.ini, capfd)
    assert code != 0
    assert rule in output
    assert "20990101_0000_e1e1e1e1e1e1_sandbox.sql" in output


def test_the_safe_way_to_do_the_same_passes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    timeouts = """
        LOCK_TIMEOUT = "5s"
        STATEMENT_TIMEOUT = "5min"
    """
    sandbox.add_revision(
        "e2e2e2e2e2e2",
        preamble=timeouts,
        upgrade="""
            op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
            op.add_column(
                "users",
                sa.Column("nickname", sa.String(50), nullable=False, server_default=""),
            )
        """,
    )
    # A concurrent build commits outside any transaction: it gets a revision
    # of its own, written to run again after an interruption.
    sandbox.add_revision(
        "e3e3e3e3e3e3",
        down_revision="e2e2e2e2e2e2",
        upgrade="""
            with op.get_context().autocommit_block():
                op.execute("DROP INDEX CONCURRENTLY IF EXISTS public.idx_users_last_login_at")
                op.execute(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_users_last_login_at"
                    " ON public.users (last_login_at)"
                )
        """,
    )
    code, output = lint(sandbox.ini, capfd)
    assert code == 0, output
