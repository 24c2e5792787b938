"""The lock budget, at CI's scale: revisions applied to a populated database under load.

One database is populated once (the benchmark's quick data set, at head) and
cloned for each test. Scratch revisions go into a sandbox copy of alembic/.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL, make_url

from sensa_db.migration_safety import APPLICATION_NAME
from sensa_db_tools.benchmark.lock_budget import (
    DEFAULT_BUDGET_SECONDS,
    BudgetDeclarationError,
    BudgetException,
    BudgetReport,
    Latency,
    MeasureOptions,
    RevisionResult,
    TableBlock,
    declared_exceptions,
    declared_expected_errors,
    measure,
    prepare,
    render_markdown,
    revision_problems,
)
from sensa_db_tools.benchmark.scale import Scale
from sensa_db_tools.local_cluster import conninfo
from tests.alembic_sandbox import AlembicSandbox, repository_head, run_alembic
from tests.postgres import EXTENSIONS_TEMPLATE, REPO_ROOT, PostgresServer

# CI measures the revisions since this one, the least-privilege revisions and
# their successors; the older ones are measured by the command
# (`sensa-db lock-budget --quick --from a6f7b47487af`, docs/OPERATIONS.md).
RECENT_REVISIONS_FROM = "a0b90923c32f"
SANDBOX_REVISION = "a0a0a0a0a0a0"


@pytest.fixture(scope="module")
def server(pg_server: PostgresServer) -> URL:
    return make_url(pg_server.url("postgres", driver="postgresql"))


@pytest.fixture(scope="module")
def populated_template(pg_server: PostgresServer, server: URL) -> Iterator[str]:
    with pg_server.database(template=EXTENSIONS_TEMPLATE, as_template=True) as dbname:
        head = repository_head()
        prepare(
            server, dbname, REPO_ROOT / "alembic.ini", Scale.quick(), start=head, load_at=head,
            progress=False,
        )  # fmt: skip
        yield dbname


@pytest.fixture
def populated(pg_server: PostgresServer, populated_template: str) -> Iterator[str]:
    """A clone of the populated database, at the repository's head."""
    with pg_server.database(template=populated_template) as dbname:
        yield dbname


def _sandbox(tmp_path: Path, upgrade: str) -> AlembicSandbox:
    sandbox = AlembicSandbox(tmp_path)
    sandbox.add_revision(SANDBOX_REVISION, upgrade=upgrade)
    return sandbox


def _measure_sandbox(
    server: URL,
    dbname: str,
    sandbox: AlembicSandbox,
    *,
    before_revision: Callable[[str], None] | None = None,
    alembic_env: dict[str, str] | None = None,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> BudgetReport:
    report = measure(
        server,
        dbname,
        sandbox.ini,
        start=repository_head(),
        options=MeasureOptions(
            baseline_seconds=2.0,
            alembic_env=alembic_env or {},
            default_budget_seconds=budget_seconds,
        ),
        before_revision=before_revision,
    )
    assert [result.revision for result in report.revisions] == [SANDBOX_REVISION]
    return report


UNSAFE_NOT_NULL_COLUMN = """
    op.add_column(
        "keywords",
        sa.Column("review_token", sa.UUID(), nullable=False,
                  server_default=sa.text("gen_random_uuid()")),
    )
"""

# The backfill acts as admin_role in each batch, as revision 6e1f8a3c5d27 does:
# the owner is under FORCEd row-level security and would update no row.
SAFE_NOT_NULL_COLUMN = """
    # Re-runnable from the top: a retry runs the whole revision again, after the
    # autocommit block has committed some of it.
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE keywords ADD COLUMN IF NOT EXISTS review_token uuid")
        op.execute("ALTER TABLE keywords ALTER COLUMN review_token SET DEFAULT gen_random_uuid()")
        op.execute('''
            DO $backfill$
            DECLARE
                migrator text := current_user;
                stamped integer;
            BEGIN
                LOOP
                    EXECUTE format('GRANT admin_role TO %I', migrator);
                    SET LOCAL ROLE admin_role;
                    UPDATE public.keywords SET review_token = gen_random_uuid()
                    WHERE keyword_id IN (SELECT keyword_id FROM public.keywords
                                         WHERE review_token IS NULL LIMIT 500);
                    GET DIAGNOSTICS stamped = ROW_COUNT;
                    RESET ROLE;
                    EXECUTE format('REVOKE admin_role FROM %I', migrator);
                    COMMIT;
                    EXIT WHEN stamped = 0;
                END LOOP;
            END
            $backfill$
        ''')
        op.execute("ALTER TABLE keywords DROP CONSTRAINT IF EXISTS review_token_set")
        op.execute("ALTER TABLE keywords ADD CONSTRAINT review_token_set"
                   " CHECK (review_token IS NOT NULL) NOT VALID")
        op.execute("ALTER TABLE keywords VALIDATE CONSTRAINT review_token_set")
        op.execute("ALTER TABLE keywords ALTER COLUMN review_token SET NOT NULL")
        op.execute("ALTER TABLE keywords DROP CONSTRAINT review_token_set")
"""

UNSAFE_INDEX = """
    op.execute("CREATE INDEX idx_keywords_embedding_l2 ON keywords"
               " USING hnsw (embedding vector_l2_ops)")
"""

SAFE_INDEX = """
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_keywords_embedding_l2")
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_keywords_embedding_l2"
                   " ON keywords USING hnsw (embedding vector_l2_ops)")
"""


# CI's small data set rewrites or indexes keywords in a few tenths of a second,
# near the 1 s default on a busy machine and well under it on an idle one. The
# safe forms hold a blocking lock for milliseconds (a catalog change) and wait
# at most one short lock attempt, so a budget between the two tells them apart
# whatever the machine's load.
BLOCKING_BUDGET_SECONDS = 0.2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("upgrade", "within_budget"),
    [
        pytest.param(UNSAFE_NOT_NULL_COLUMN, False, id="NOT NULL column, volatile default"),
        pytest.param(SAFE_NOT_NULL_COLUMN, True, id="the same column added safely"),
        pytest.param(UNSAFE_INDEX, False, id="index without CONCURRENTLY"),
        pytest.param(SAFE_INDEX, True, id="the same index built CONCURRENTLY"),
    ],
)
def test_the_budget_fails_blocking_changes_and_passes_their_safe_versions(
    tmp_path: Path, server: URL, populated: str, upgrade: str, within_budget: bool
) -> None:
    report = _measure_sandbox(
        server, populated, _sandbox(tmp_path, upgrade), budget_seconds=BLOCKING_BUDGET_SECONDS
    )
    print(render_markdown(report))
    (result,) = report.revisions
    assert result.failure is None
    assert result.errors == {}
    keywords = [block for block in result.tables if block.table == "keywords"]
    if within_budget:
        assert result.ok, result.problems
        assert all(not block.over_budget for block in keywords)
    else:
        assert not result.ok
        (block,) = keywords
        assert block.over_budget, block
        budget = f"{BLOCKING_BUDGET_SECONDS:g} s"
        assert f"keywords blocked {block.seconds:.2f} s, over its budget of {budget}" in (
            result.problems
        )


ADD_NULLABLE_COLUMN = 'op.add_column("keywords", sa.Column("note", sa.Text))'


def _hold_keywords(
    dbname: str, server: URL, seconds: float
) -> tuple[Callable[[str], None], list[int]]:
    """A ``before_revision`` that opens a transaction reading keywords and ends it ``seconds``
    after the migration runner is first seen waiting for keywords: its ACCESS SHARE
    lock conflicts with the revision's ACCESS EXCLUSIVE one, so that attempt must
    time out and be retried however slowly a loaded machine starts the runner."""
    holders: list[int] = []

    def release_later(connection: psycopg.Connection) -> None:
        deadline = time.monotonic() + 120
        with psycopg.connect(conninfo(server, dbname), autocommit=True) as watcher:
            while time.monotonic() < deadline and watcher.execute(
                "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
                " WHERE application_name = %s AND NOT granted"
                " AND relation = 'public.keywords'::regclass",
                (APPLICATION_NAME,),
            ).fetchone() == (0,):
                time.sleep(0.01)
        time.sleep(seconds)
        connection.close()  # ends the transaction

    def hold(revision: str) -> None:
        connection = psycopg.connect(conninfo(server, dbname))
        connection.execute("SELECT count(*) FROM public.keywords")
        holders.append(connection.info.backend_pid)
        threading.Thread(target=release_later, args=(connection,), daemon=True).start()

    return hold, holders


@pytest.mark.slow
def test_a_conflict_that_ends_within_the_bound_is_retried_through(
    tmp_path: Path, server: URL, populated: str
) -> None:
    hold, holders = _hold_keywords(populated, server, 2.0)
    report = _measure_sandbox(
        server, populated, _sandbox(tmp_path, ADD_NULLABLE_COLUMN), before_revision=hold
    )
    print(render_markdown(report))
    (result,) = report.revisions
    assert len(holders) == 1
    assert result.failure is None
    assert result.lock_retries >= 1
    assert result.errors == {}
    assert result.ok, result.problems
    with psycopg.connect(conninfo(server, populated)) as owner:
        assert owner.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.keywords'::regclass"
            " AND attname = 'note'"
        ).fetchone() == (1,)


@pytest.mark.slow
def test_a_conflict_past_the_bound_fails_cleanly_naming_the_holder(
    tmp_path: Path, server: URL, populated: str
) -> None:
    hold, holders = _hold_keywords(populated, server, 8.0)
    report = _measure_sandbox(
        server,
        populated,
        _sandbox(tmp_path, ADD_NULLABLE_COLUMN),
        before_revision=hold,
        alembic_env={"SENSA_MIGRATION_LOCK_RETRY_SECONDS": "3"},
    )
    (result,) = report.revisions
    assert result.failure is not None
    assert result.failure.startswith("alembic: the revision after ")
    assert "could not take its locks" in result.failure
    assert f"pid {holders[0]} " in result.failure
    assert "keywords AccessShareLock" in result.failure
    assert result.errors == {}
    with psycopg.connect(conninfo(server, populated)) as owner:
        assert owner.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (repository_head(),)
        ]
        assert owner.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.keywords'::regclass"
            " AND attname = 'note'"
        ).fetchone() == (0,)
        assert owner.execute(
            "SELECT count(*) FROM migrations_log WHERE revision = %s", (SANDBOX_REVISION,)
        ).fetchone() == (0,)
        assert owner.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            " AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchone() == (0,)


@pytest.mark.slow
def test_the_recent_revisions_under_load_stay_in_budget_without_deadlocks(
    server: URL, populated: str
) -> None:
    url = conninfo(server, populated)
    downgraded = run_alembic("downgrade", RECENT_REVISIONS_FROM, url=url)
    assert downgraded.returncode == 0, downgraded.stderr
    report = measure(server, populated, REPO_ROOT / "alembic.ini", start=RECENT_REVISIONS_FROM)
    print(render_markdown(report))
    assert [result.revision for result in report.revisions][-1] == repository_head()
    assert report.before_errors == {}
    for result in report.revisions:
        assert set(result.errors) <= set(result.expected_errors), result.revision
        assert result.ok, (result.revision, result.problems)


def test_a_revision_declares_its_exception_with_a_reason_and_the_report_shows_it(
    tmp_path: Path,
) -> None:
    sandbox = AlembicSandbox(tmp_path)
    path = sandbox.add_revision(
        SANDBOX_REVISION,
        upgrade=UNSAFE_INDEX,
        preamble='LOCK_BUDGET_EXCEPTIONS = {"keywords": (30.0, "a rewrite, in the window")}',
    )
    declared = declared_exceptions(path)
    assert declared == {"keywords": BudgetException(30.0, "a rewrite, in the window")}
    block = TableBlock(
        "keywords", 2400, 3.96, declared["keywords"].seconds, "a rewrite, in the window"
    )
    assert not block.over_budget
    result = RevisionResult(
        SANDBOX_REVISION, "sandbox", 3.9, 5.0, [block], Latency(10, 5.0, 4000.0), {}, 0
    )
    report = BudgetReport(4, 0.025, 1.0, {"keywords": 2400}, Latency(10, 5.0, 9.0), {}, [result])
    assert report.ok
    assert "keywords 3.96 (declared 30: a rewrite, in the window)" in render_markdown(report)


@pytest.mark.parametrize(
    "declaration",
    [
        'LOCK_BUDGET_EXCEPTIONS = {"keywords": 30.0}',
        'LOCK_BUDGET_EXCEPTIONS = {"keywords": (30.0, "")}',
        'LOCK_BUDGET_EXCEPTIONS = {"keywords": (-1, "why")}',
        'LOCK_BUDGET_EXCEPTIONS = ["keywords"]',
    ],
)
def test_a_malformed_exception_is_refused_by_name(tmp_path: Path, declaration: str) -> None:
    path = AlembicSandbox(tmp_path).add_revision(
        SANDBOX_REVISION, upgrade="pass", preamble=declaration
    )
    with pytest.raises(BudgetDeclarationError, match="LOCK_BUDGET_EXCEPTIONS"):
        declared_exceptions(path)


def _result_with_errors(errors: dict[str, int], expected: dict[str, str]) -> RevisionResult:
    result = RevisionResult(
        SANDBOX_REVISION, "sandbox", 1.0, 2.0, [], Latency(10, 5.0, 9.0), errors, 0,
        expected_errors=expected,
    )  # fmt: skip
    result.problems = revision_problems(result)
    return result


def test_a_declared_workload_error_is_shown_but_does_not_fail_the_revision(tmp_path: Path) -> None:
    path = AlembicSandbox(tmp_path).add_revision(
        SANDBOX_REVISION,
        upgrade="pass",
        preamble='EXPECTED_WORKLOAD_ERRORS = {"42501": "refused once, by design"}',
    )
    expected = declared_expected_errors(path)
    assert expected == {"42501": "refused once, by design"}
    assert _result_with_errors({"42501": 1}, expected).ok
    # The control: undeclared, the same error fails the revision.
    assert _result_with_errors({"42501": 1}, {}).problems == ["the workload met 1 error (42501)"]


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_deadlock_or_serialization_failure_cannot_be_declared(
    tmp_path: Path, sqlstate: str
) -> None:
    path = AlembicSandbox(tmp_path).add_revision(
        SANDBOX_REVISION,
        upgrade="pass",
        preamble=f'EXPECTED_WORKLOAD_ERRORS = {{"{sqlstate}": "why"}}',
    )
    with pytest.raises(BudgetDeclarationError, match="may not excuse"):
        declared_expected_errors(path)
