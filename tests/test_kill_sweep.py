"""CI's sample of the kill sweep (``sensa-db kill-sweep`` runs every statement boundary).

Four kills of an upgrade, each on a clone of the clean run's database at the
killed revision's parent: one at a plain DDL statement (a policy of the
concept-map owner revisions) and one at the first statement of each kind of
autocommit step (the batched backfill, the constraint validation, the
concurrent index build), alternating SIGKILL of the runner and
pg_terminate_backend of its connection. Only those revisions get clean runs.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import URL, make_url

from sensa_db_tools.benchmark.kill_sweep import (
    AUTOCOMMIT_STEPS,
    KillPoint,
    clean_steps,
    first_autocommit_steps,
    first_revisions_with,
    kill_once,
    kill_points,
    render_markdown,
)
from tests.postgres import REPO_ROOT, PostgresServer

# Long: left out of the fast loop (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow

POLICIES_REVISION = "9d2c41e07b35"


@pytest.fixture(scope="module")
def server(pg_server: PostgresServer) -> URL:
    return make_url(pg_server.url("postgres", driver="postgresql"))


def test_a_sample_of_kills_leaves_nothing_the_next_run_cannot_finish(server: URL) -> None:
    alembic_ini = REPO_ROOT / "alembic.ini"
    revisions = {POLICIES_REVISION, *first_revisions_with(alembic_ini, AUTOCOMMIT_STEPS)}
    with clean_steps(server, alembic_ini, revisions=revisions) as steps:
        points = kill_points(steps)
        plain_ddl = next(
            point for point in points
            if point.step.revision == POLICIES_REVISION
            and point.statement.startswith("CREATE POLICY")
        )  # fmt: skip
        chosen = [plain_ddl, *first_autocommit_steps(points)]
        ways = ["sigkill", "terminate"] * 2
        outcomes = [
            kill_once(server, alembic_ini, point, way)
            for point, way in zip(chosen, ways, strict=True)
        ]
    print(render_markdown(outcomes))
    for outcome in outcomes:
        assert outcome.reached, outcome
        assert outcome.leftover_sessions == 0, outcome
        assert outcome.locks_held == 0, outcome
        assert outcome.consistent_after_kill, outcome.problems
        assert outcome.rerun_ok, outcome.problems
        assert outcome.invalid_after_rerun == 0, outcome
        assert outcome.consistent_after_rerun, outcome.problems
        assert outcome.same_schema, outcome.problems


def check_kills_between_steps(
    server: URL, revision: str, steps: tuple[str, ...], last_step: str
) -> None:
    """Kill ``revision``'s upgrade at the first statement matching each of ``steps``, in
    order, and just after the one matching ``last_step`` (alembic_version not yet
    moved), alternating SIGKILL and pg_terminate_backend; every re-run must finish."""
    alembic_ini = REPO_ROOT / "alembic.ini"
    with clean_steps(server, alembic_ini, revisions={revision}) as found:
        points = kill_points(found)

        def first(pattern: str) -> KillPoint:
            return next(point for point in points if re.search(pattern, point.statement))

        chosen = [first(step) for step in steps]
        chosen.append(points[points.index(first(last_step)) + 1])
        positions = [points.index(point) for point in chosen]
        assert positions == sorted(positions), positions
        ways = (["sigkill", "terminate"] * len(chosen))[: len(chosen)]
        outcomes = [
            kill_once(server, alembic_ini, point, way)
            for point, way in zip(chosen, ways, strict=True)
        ]
    print(render_markdown(outcomes))
    assert [outcome.problems for outcome in outcomes if not outcome.ok] == []


# Revision 52a077888982 swaps each HNSW index for its halfvec one in steps, each
# in its own transaction. Killed before the documents' build (the old index
# renamed), before the function switch (both indexes), before the old index's
# drop (the function switched), and after the keywords' last step
# (alembic_version not yet moved).
HALF_PRECISION_REVISION = "52a077888982"
HALF_PRECISION_STEPS = (
    r"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_processed_docs_embedding ",
    r'CREATE OR REPLACE FUNCTION "public"\."find_similar_documents"',
    r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_processed_docs_embedding_ccold",
)
LAST_HALF_PRECISION_STEP = r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_keywords_embedding_ccold"


def test_the_halfvec_index_swap_reruns_after_a_kill_between_its_steps(server: URL) -> None:
    check_kills_between_steps(
        server, HALF_PRECISION_REVISION, HALF_PRECISION_STEPS, LAST_HALF_PRECISION_STEP
    )


# Revision 5d0c7e91a4b3 rebuilds four join indexes with user_id carried, each in
# steps of their own transaction. Killed before the first build (the old index
# renamed), before the old index's drop (both indexes), between two indexes, and
# after the last step (alembic_version not yet moved).
OWNER_INDEX_REVISION = "5d0c7e91a4b3"
OWNER_INDEX_STEPS = (
    r"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_documents_course_id ",
    r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_documents_course_id_ccold",
    r"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_chapters_processed_id ",
)
LAST_OWNER_INDEX_STEP = r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_keywords_chapter_id_ccold"


def test_the_owner_index_rebuild_reruns_after_a_kill_between_its_steps(server: URL) -> None:
    check_kills_between_steps(
        server, OWNER_INDEX_REVISION, OWNER_INDEX_STEPS, LAST_OWNER_INDEX_STEP
    )


# Revision b2a65691336a rebuilds idx_keywords_chapter_id with user_id as a key, in
# the same steps. Killed before the build (the old index renamed), before the old
# index's drop (both indexes), and after the last step.
KEYED_INDEX_REVISION = "b2a65691336a"
KEYED_INDEX_STEPS = (
    r"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_keywords_chapter_id ",
    r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_keywords_chapter_id_ccold",
)
LAST_KEYED_INDEX_STEP = r"DROP INDEX CONCURRENTLY IF EXISTS public\.idx_keywords_chapter_id_ccold"


def test_the_keyed_keyword_index_rebuild_reruns_after_a_kill_between_its_steps(
    server: URL,
) -> None:
    check_kills_between_steps(
        server, KEYED_INDEX_REVISION, KEYED_INDEX_STEPS, LAST_KEYED_INDEX_STEP
    )
