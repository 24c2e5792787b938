"""CI's sample of the kill sweep (``sensa-db kill-sweep`` runs every statement boundary).

Four kills of ``alembic upgrade head`` on empty databases, one at a plain DDL
statement and one at the first statement of each kind of autocommit step (the
batched backfill, the constraint validation, the concurrent index build),
alternating SIGKILL of the runner and pg_terminate_backend of its connection.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import URL, make_url

from sensa_db_tools.benchmark.kill_sweep import (
    AUTOCOMMIT_STEPS,
    clean_run,
    kill_once,
    render_markdown,
)
from tests.postgres import REPO_ROOT, PostgresServer


@pytest.fixture(scope="module")
def server(pg_server: PostgresServer) -> URL:
    return make_url(pg_server.url("postgres", driver="postgresql"))


def test_a_sample_of_kills_leaves_nothing_the_next_run_cannot_finish(server: URL) -> None:
    alembic_ini = REPO_ROOT / "alembic.ini"
    reference, statements = clean_run(server, alembic_ini)
    plain_ddl = next(
        n for n, statement in enumerate(statements, start=1)
        if n > len(statements) // 3 and statement.startswith("CREATE POLICY")
    )  # fmt: skip
    autocommit_steps = [
        next(n for n, statement in enumerate(statements, start=1) if re.search(kind, statement))
        for kind in AUTOCOMMIT_STEPS
    ]
    points = [plain_ddl, *autocommit_steps]
    ways = ["sigkill", "terminate"] * 2
    outcomes = [
        kill_once(server, alembic_ini, reference, point, way, statements[point - 1])
        for point, way in zip(points, ways, strict=True)
    ]
    print(render_markdown(outcomes))
    for outcome in outcomes:
        assert outcome.died, outcome
        assert outcome.leftover_sessions == 0, outcome
        assert outcome.locks_held == 0, outcome
        assert outcome.consistent_after_kill, outcome.problems
        assert outcome.rerun_ok, outcome.problems
        assert outcome.invalid_after_rerun == 0, outcome
        assert outcome.consistent_after_rerun, outcome.problems
        assert outcome.same_schema, outcome.problems


# Revision 52a077888982 swaps each HNSW index for its halfvec one in steps, each
# in its own transaction. Killed before the documents' build (the old index
# renamed), before the function switch (both indexes), before the old index's
# drop (the function switched), and after the keywords' last step
# (alembic_version not yet moved).
HALF_PRECISION_STEPS = (
    r"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_processed_docs_embedding ",
    r'CREATE OR REPLACE FUNCTION "public"\."find_similar_documents"',
    r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_processed_docs_embedding_ccold",
)
LAST_HALF_PRECISION_STEP = r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_keywords_embedding_ccold"


def test_the_halfvec_index_swap_reruns_after_a_kill_between_its_steps(server: URL) -> None:
    alembic_ini = REPO_ROOT / "alembic.ini"
    reference, statements = clean_run(server, alembic_ini)
    numbered = list(enumerate(statements, start=1))
    start = next(n for n, statement in numbered if "DO $retire$" in statement)
    points = [
        next(n for n, statement in numbered[start:] if re.search(step, statement))
        for step in HALF_PRECISION_STEPS
    ]
    points.append(
        next(
            n for n, statement in numbered[start:] if re.search(LAST_HALF_PRECISION_STEP, statement)
        )
        + 1
    )
    assert points == sorted(points), points
    ways = ["sigkill", "terminate"] * 2
    outcomes = [
        kill_once(server, alembic_ini, reference, point, way, statements[point - 1])
        for point, way in zip(points, ways, strict=True)
    ]
    print(render_markdown(outcomes))
    assert [outcome.problems for outcome in outcomes if not outcome.ok] == []
