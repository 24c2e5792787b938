"""``sensa-db benchmark --quick`` end to end: every step runs and every answer is right.

Speed is never asserted; the run must finish, every query must answer
correctly (the benchmark checks each answer and fails on a wrong one), and the
files it writes must hold what the report promises. The checks the benchmark
applies are tested on their own below, so a check that accepts anything fails
here.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import make_url

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools.benchmark import alternatives, concurrency, dataset, report, workloads
from sensa_db_tools.benchmark.scale import Scale
from sensa_db_tools.cli import main
from tests.postgres import REPO_ROOT, PostgresServer

# Long: left out of the fast loop (pytest -m "not slow"); CI runs it.
pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# The read-only pgbench mix on the primary and on the hot standby: a sample of
# `--concurrency --read-only` (seconds), checked for completeness, never for speed.
SAMPLE_CLIENTS = (1, 4)


def _benchmark_arguments(server: PostgresServer, output: Path, *extra: str) -> list[str]:
    standby = server.standby()
    return [
        "benchmark", "--quick", "--no-progress",
        "--database-url", server.url("postgres"),
        "--output", str(output),
        "-c", str(REPO_ROOT / "alembic.ini"),
        "--concurrency", "--target", f"standby={standby.host}:{standby.port}",
        "--concurrency-clients", ",".join(map(str, SAMPLE_CLIENTS)),
        "--concurrency-seconds", "1", "--concurrency-repetitions", "1",
        *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    server = PostgresServer.from_environment()
    output = tmp_path_factory.mktemp("benchmark")
    return main(_benchmark_arguments(server, output, "--read-only")), output


@pytest.fixture(scope="module")
def results(quick_run: tuple[int, Path]) -> dict[str, Any]:
    code, output = quick_run
    assert code == 0
    loaded: dict[str, Any] = json.loads((output / report.JSON_NAME).read_text())
    return loaded


def test_the_quick_run_writes_json_markdown_and_a_png(quick_run: tuple[int, Path]) -> None:
    code, output = quick_run
    assert code == 0
    results = json.loads((output / report.JSON_NAME).read_text())
    markdown = (output / report.MARKDOWN_NAME).read_text()
    assert markdown.startswith("# sensa-db benchmark: quick size")
    assert results["scale"]["name"] == "quick"
    # The global search's speed turns on whether its graph fits in the server's memory.
    assert f"shared_buffers {results['machine']['shared_buffers']} (" in markdown
    assert "| course_lookup |" in markdown
    assert (output / report.PLOT_NAME).read_bytes().startswith(PNG_SIGNATURE)


def test_every_query_was_measured_on_both_sides(results: dict[str, Any]) -> None:
    scale = Scale.quick()
    names = [row["name"] for row in results["latency"]]
    assert names == [workload.name for workload in workloads.LEARNER_WORKLOADS]
    for row in results["latency"]:
        assert row["app"]["n"] == row["baseline"]["n"] == scale.repetitions
        assert 0 < row["app"]["p50_ms"] <= row["app"]["p95_ms"] <= row["app"]["p99_ms"]
        assert row["rls_ratio_p50"] > 0
    for row in results["other_latency"]:
        assert row["samples"]["n"] > 0


def test_queries_returned_rows(results: dict[str, Any]) -> None:
    rows = {row["name"]: row["rows_mean"] for row in results["latency"]}
    assert rows["course_lookup"] > 0
    assert rows["find_similar_documents"] == workloads.NEIGHBOURS
    assert rows["find_similar_keywords_in_course"] == workloads.NEIGHBOURS
    assert rows["course_stats"] == rows["progress_summary"] == 1


def test_recall_figures_are_shares_and_the_filtered_search_is_full(
    results: dict[str, Any],
) -> None:
    vector = results["vector"]
    assert [point["ef_search"] for point in vector["sweep"]] == list(Scale.quick().ef_search_values)
    shares = [point["recall"] for point in vector["sweep"]]
    shares += [vector["function_recall"], vector["course_keyword_recall"]]
    assert all(0 <= share <= 1 for share in shares)
    assert vector["course_keyword_full_share"] == 1


def test_the_load_counts_every_generated_row(results: dict[str, Any]) -> None:
    scale = Scale.quick()
    loaded = {entry["table"]: entry["rows"] for entry in results["load"]["tables"]}
    assert loaded["users"] == scale.learners
    assert loaded["courses"] == scale.courses
    assert loaded["processed_documents"] == scale.documents
    assert loaded["keywords"] == scale.keywords
    assert loaded["documents completed"] > scale.documents  # plus the failed ones
    assert set(results["indexes"]) == {"idx_processed_docs_embedding", "idx_keywords_embedding"}
    assert results["migrations"]["ratio"] > 0


def test_the_benchmark_drops_its_database(
    pg_server: PostgresServer, results: dict[str, Any]
) -> None:
    assert results["database"] == {"name": results["database"]["name"], "kept": False}
    with pg_server.connect("postgres") as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (results["database"]["name"],)
        ).fetchone()
    assert found == (0,)


def test_the_read_only_mix_ran_on_the_primary_and_the_standby_without_errors(
    results: dict[str, Any],
) -> None:
    throughput = results["concurrency"]
    assert throughput["read_only"] is True
    assert throughput["standby"] == "standby"
    seen = {(row["target"], row["clients"], row["role"]) for row in throughput["rows"]}
    assert seen == {
        (target, clients, role)
        for target in ("direct", "standby")
        for clients in SAMPLE_CLIENTS
        for role in (APP_ROLE, ADMIN_ROLE)
    }
    for row in throughput["rows"]:
        assert row["failed"] == 0
        assert row["tps"] > 0
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    costs = {(row["target"], row["request"]) for row in throughput["request_costs"]}
    assert costs == {
        (target, request)
        for target in ("direct", "standby")
        for request in concurrency.mix(read_only=True)
    }
    assert all(row["clients"] == min(SAMPLE_CLIENTS) for row in throughput["request_costs"])


def test_the_standbys_lag_was_sampled_while_each_target_ran(results: dict[str, Any]) -> None:
    lag = results["concurrency"]["replication_lag"]
    assert {(row["target"], row["clients"]) for row in lag} == {
        (target, clients) for target in ("direct", "standby") for clients in SAMPLE_CLIENTS
    }
    assert all(row["samples"] > 0 and row["max_delay_ms"] >= 0 for row in lag)


def _benchmark_databases(pg_server: PostgresServer) -> set[str]:
    with pg_server.connect("postgres") as admin:
        rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'sensa_bench_%'")
        return {name for (name,) in rows}


def test_a_standby_target_refuses_the_mix_that_writes_before_creating_anything(
    pg_server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control is quick_run: the same arguments with --read-only complete."""
    before = _benchmark_databases(pg_server)
    assert main(_benchmark_arguments(pg_server, tmp_path)) == 2
    assert "hot standby refuses the mix's write (progress heartbeat)" in capsys.readouterr().err
    assert _benchmark_databases(pg_server) == before


# -- the checks themselves refuse wrong answers --------------------------------


@pytest.fixture(scope="module")
def small_data() -> dataset.Dataset:
    return dataset.generate(Scale.quick(), seed=3)


def _case(workload_name: str, data: dataset.Dataset) -> tuple[workloads.Workload, Any]:
    workload = next(w for w in workloads.LEARNER_WORKLOADS if w.name == workload_name)
    return workload, workload.make_case(data, np.random.default_rng(0))


def test_course_lookup_check_refuses_another_learners_course(small_data: dataset.Dataset) -> None:
    workload, case = _case("course_lookup", small_data)
    own = small_data.course_ids[next(iter(case.expect))]
    stranger = next(
        small_data.course_ids[c] for c in range(len(small_data.course_ids)) if c not in case.expect
    )
    workload.check(small_data, case, [(own, "n", "s", 1)])
    with pytest.raises(workloads.WrongAnswerError, match="another learner"):
        workload.check(small_data, case, [(own, "n", "s", 2), (stranger, "n", "s", 1)])


def test_course_lookup_check_refuses_the_wrong_order(small_data: dataset.Dataset) -> None:
    workload, case = _case("course_lookup", small_data)
    first, second = [small_data.course_ids[c] for c in sorted(case.expect)[:2]]
    with pytest.raises(workloads.WrongAnswerError, match="newest first"):
        workload.check(small_data, case, [(first, "n", "s", 1), (second, "n", "s", 2)])


def test_similar_documents_check_refuses_fewer_rows_or_a_bad_order(
    small_data: dataset.Dataset,
) -> None:
    workload, case = _case("find_similar_documents", small_data)
    ten = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "s", 1 - n / 100) for n in range(10)]
    workload.check(small_data, case, ten)
    with pytest.raises(workloads.WrongAnswerError, match="not 10"):
        workload.check(small_data, case, ten[:9])
    with pytest.raises(workloads.WrongAnswerError, match="most similar first"):
        workload.check(small_data, case, ten[::-1])


def test_course_stats_check_refuses_a_wrong_count(small_data: dataset.Dataset) -> None:
    workload, case = _case("course_stats", small_data)
    processed = int(np.count_nonzero(small_data.document_course == case.expect))
    keywords = len(small_data.course_keywords(case.expect))
    workload.check(small_data, case, [(processed, processed, 0, 0, processed, keywords)])
    with pytest.raises(workloads.WrongAnswerError, match="keyword count"):
        workload.check(small_data, case, [(processed, processed, 0, 0, processed, keywords + 1)])


def test_recall_counts_the_share_of_true_neighbours_found() -> None:
    assert workloads.recall([1, 2, 3, 4], [1, 2, 5, 6]) == 0.5
    assert workloads.recall([], [1]) == 0
    assert workloads.recall([1], [1]) == 1


def test_the_embeddings_are_clustered_not_uniform(small_data: dataset.Dataset) -> None:
    vectors = small_data.document_vectors
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    same_course = small_data.document_course[:, None] == small_data.document_course[None, :]
    similarity = vectors @ vectors.T
    np.fill_diagonal(same_course, False)
    # Documents of one course are more alike than documents of different courses, if
    # loosely: as in real embeddings, a course holds only a quarter of a document's variance.
    assert similarity[same_course].mean() > similarity[~same_course].mean() + 0.1


def test_a_typo_drops_one_inner_letter() -> None:
    word = "mitochondria"
    misspelt = dataset.typo(word, np.random.default_rng(1))
    assert len(misspelt) == len(word) - 1
    assert misspelt[0] == word[0]
    assert misspelt[-1] == word[-1]
    assert any(word[:i] + word[i + 1 :] == misspelt for i in range(1, len(word) - 1))


def test_the_alternatives_run_on_a_kept_database_and_leave_no_index(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    """The command that measures what would lift the global recall (binary quantization,
    a subject's own graph, a larger ef_search) on a kept benchmark database: every
    alternative answers with a recall, and the indexes it built are gone after it."""
    output = tmp_path / "kept"
    arguments = [
        "benchmark", "--quick", "--keep", "--no-progress",
        "--database-url", pg_server.url("postgres"),
        "--output", str(output), "-c", str(REPO_ROOT / "alembic.ini"),
    ]  # fmt: skip
    assert main(arguments) == 0
    kept = json.loads((output / report.JSON_NAME).read_text())["database"]
    assert kept["kept"] is True
    try:
        lines = alternatives.measure(
            make_url(pg_server.url("postgres")), kept["name"], Scale.quick().documents,
            queries=4, seed=7,
        )  # fmt: skip
        rows = [
            line.split(" | ") for line in lines if line.startswith("| ") and "recall" not in line
        ]
        measured = {row[0].removeprefix("| ") for row in rows if len(row) == 5}
        by_subject = {name for name in measured if name.startswith("partition by subject (")}
        assert len(by_subject) == 1
        assert measured - by_subject == {
            "find_similar_documents() as shipped",
            "shipped graph, iterative scan",
            "binary quantization, re-ranked",
        }
        assert all(0.0 <= float(row[2]) <= 1.0 for row in rows if len(row) == 5)
        with pg_server.connect(kept["name"]) as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'alternative_%'"
            ).fetchone()
        assert left == (0,)
    finally:
        with pg_server.connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{kept["name"]}" WITH (FORCE)')
