"""The benchmark's own arithmetic: plan summaries, the RLS overhead's interval, the corpus.

These run without a database; the end-to-end run is tests/test_benchmark.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools.benchmark import (
    concurrency,
    corpus,
    plans,
    revision_ab,
    scale_curve,
    workloads,
)


def test_a_plan_ordered_by_an_index_is_named_hnsw() -> None:
    nodes = [
        {"Node Type": "Limit"},
        {"Node Type": "Index Scan", "Index Name": "idx_processed_docs_embedding", "Order By": "x"},
    ]
    assert plans.summary(nodes) == "HNSW idx_processed_docs_embedding"


def test_a_plan_that_sorts_every_row_is_named_exact() -> None:
    nodes = [
        {"Node Type": "Limit"},
        {"Node Type": "Sort"},
        {"Node Type": "Bitmap Heap Scan"},
        {"Node Type": "Bitmap Index Scan", "Index Name": "idx_processed_documents_user_id"},
    ]
    assert plans.summary(nodes) == (
        "exact: Bitmap Heap Scan + Bitmap Index Scan idx_processed_documents_user_id + sort"
    )


def test_the_function_query_takes_the_chosen_branch_with_placeholders() -> None:
    source = "BEGIN RETURN QUERY SELECT a FROM t WHERE x = p_x; RETURN QUERY SELECT p_x, p_y;"
    assert plans.function_query(source, ["p_x", "p_y"], branch=1) == "SELECT $1, $2"


def _run(role: str, repetition: int, tps: float) -> concurrency.Run:
    return concurrency.Run("direct", role, 4, repetition, tps, 1, 2, 3, 100, 0, 0.05)


def test_a_negative_branch_counts_from_the_last_return_query() -> None:
    """The learner's branch is the last: read at a revision before it existed, the
    same position names the function's only query."""
    before = "BEGIN RETURN QUERY SELECT p_x; END;"
    after = "BEGIN IF c THEN RETURN QUERY SELECT p_x; ELSE RETURN QUERY SELECT p_x, 2; END IF;"
    assert plans.function_query(before, ["p_x"], branch=-1) == "SELECT $1"
    assert plans.function_query(after, ["p_x"], branch=-1) == "SELECT $1, 2"


def test_the_million_point_has_a_keyword_per_document_and_no_serial_builds() -> None:
    assert scale_curve.MILLION.documents == scale_curve.MILLION.keywords == 1_000_000
    point = {
        "documents": 1_000_000, "keywords": 1_000_000, "load_s": 1.0, "build_serial_s": None,
        "build_parallel_s": 2.0, "documents_table_mib": 1.0, "documents_index_mib": 1.0,
        "keywords_index_mib": 1.0, "learner_search_p95_ms": 1.0, "global_search_p95_ms": 1.0,
        "global_search_recall": 1.0, "other_p95_ms": dict.fromkeys(scale_curve.OTHER_QUERIES, 1.0),
    }  # fmt: skip
    row = scale_curve.render_markdown([point]).splitlines()[-1]
    assert "| not timed / 2 |" in row
    assert "| 3 / 2 |" in scale_curve.render_markdown([{**point, "build_serial_s": 3.0}])


def test_the_curve_runs_the_sizes_between_its_bounds() -> None:
    assert scale_curve.sizes_between(10_000, 100_000) == scale_curve.SIZES
    assert scale_curve.sizes_between(10_000, 1_000_000) == (*scale_curve.SIZES, scale_curve.MILLION)
    assert scale_curve.sizes_between(1_000_000, 1_000_000) == (scale_curve.MILLION,)
    assert scale_curve.sizes_between(100_000, 100_000) == scale_curve.SIZES[1:]
    assert scale_curve.sizes_between(1_000_000, 100_000) == ()


def test_the_read_only_mix_is_the_mix_without_its_writes() -> None:
    read_only = concurrency.mix(read_only=True)
    assert set(read_only) == set(concurrency.SCRIPTS) - concurrency.WRITES
    assert all(statement.startswith("SELECT") for _, statement in read_only.values())
    # The control: the whole mix holds the write the standby would refuse.
    assert any(
        statement.startswith("UPDATE") for _, statement in concurrency.mix(read_only=False).values()
    )


def test_the_rls_overhead_is_the_mean_paired_loss_with_a_student_t_interval() -> None:
    runs = [
        *(_run(APP_ROLE, n, tps) for n, tps in enumerate([90, 95, 85])),
        *(_run(ADMIN_ROLE, n, 100) for n in range(3)),
    ]
    overhead = concurrency.rls_overhead(runs, "direct", 4)
    losses = [0.10, 0.05, 0.15]
    half = 4.303 * 0.05 / math.sqrt(3)  # t(0.975, 2) * sample stdev / sqrt(n)
    assert overhead["mean"] == pytest.approx(sum(losses) / 3)
    assert overhead["low"] == pytest.approx(0.10 - half)
    assert overhead["high"] == pytest.approx(0.10 + half)
    assert overhead["n"] == 3


def test_the_rls_cost_per_request_pairs_repetitions_and_weights_each_request() -> None:
    """The request where the app is slower carries the added time; another request
    that is equally fast on both sides carries none, and more clients are left out."""
    lookup, similarity = "course_lookup", "learner_similarity"

    def run(role: str, repetition: int, clients: int, similarity_ms: float) -> concurrency.Run:
        return dataclasses.replace(
            _run(role, repetition, 100),
            clients=clients,
            request_mean_ms={lookup: 0.5, similarity: similarity_ms},
        )

    added = [0.2, 0.3, 0.4]
    runs = [
        *(run(APP_ROLE, n, 1, 1.0 + extra) for n, extra in enumerate(added)),
        *(run(ADMIN_ROLE, n, 1, 1.0) for n in range(3)),
        # At more clients the queue inflates every latency: not a cost of the policies.
        *(
            run(role, n, 4, 9.0 if role == APP_ROLE else 1.0)
            for role in (APP_ROLE, ADMIN_ROLE)
            for n in range(3)
        ),
    ]
    rows = {row["request"]: row for row in concurrency.rls_cost_per_request(runs)}
    assert set(rows) == {lookup, similarity}
    assert rows[similarity]["clients"] == 1
    assert rows[similarity]["added_ms"]["mean"] == pytest.approx(0.3)
    assert rows[similarity]["added_ms"]["low"] < 0.3 < rows[similarity]["added_ms"]["high"]
    assert rows[similarity]["app_ms"] == pytest.approx(1.3)
    assert rows[similarity]["share"] == pytest.approx(1.0)
    assert rows[lookup]["added_ms"]["mean"] == pytest.approx(0.0)
    assert rows[lookup]["share"] == pytest.approx(0.0)


def test_a_pgbench_run_gives_each_script_its_mean_latency() -> None:
    bench = concurrency.PgbenchRun(100.0, [(0, 1.0), (1, 4.0), (0, 3.0)], 0, 0.05, errors="")
    assert bench.request_mean_ms(["first", "second"]) == {"first": 2.0, "second": 4.0}
    assert bench.latencies_ms == [1.0, 4.0, 3.0]


def _pass(p50_ms: float, tps: float) -> dict[str, object]:
    names = [workload.name for workload in workloads.LEARNER_WORKLOADS]
    return {"p50_ms": dict.fromkeys(names, p50_ms), "tps": {APP_ROLE: tps}}


def test_the_revision_ab_pairs_each_repetition_and_names_a_clear_change() -> None:
    # After is 0.2 ms slower in every repetition, with little spread: a clear slowdown.
    passes = [
        {"old": _pass(before, 100), "new": _pass(before + delta, 100 * (1 + gain))}
        for before, delta, gain in [(1.0, 0.21, 0.01), (1.5, 0.19, -0.01), (1.2, 0.20, 0.0)]
    ]
    rows = {row["name"]: row for row in revision_ab._differences(passes, "old", "new")}
    first = rows[workloads.LEARNER_WORKLOADS[0].name]
    assert first["before_p50_ms"] == [1.0, 1.5, 1.2]
    assert first["difference_ms"]["mean"] == pytest.approx(0.20)
    assert revision_ab.verdict(first["difference_ms"]) == "slower"
    mix = rows["pgbench API mix, TPS as the app"]
    assert mix["relative"]["mean"] == pytest.approx(0.0)
    assert revision_ab.verdict(mix["relative"], higher_is_faster=True) == "within noise"


def test_each_global_search_runs_before_its_pair_as_often_as_after() -> None:
    # A query searched twice in a row is cheaper the second time (the graph's pages are
    # in the CPU's caches): a function always run before its inner query looked dearer.
    names = list(revision_ab.GLOBAL_SEARCHES)
    orders = [revision_ab.turns(names, position) for position in range(10)]
    assert all(sorted(order) == sorted(names) for order in orders)
    for function, inner in revision_ab.WRAPPED.items():
        before = [order.index(function) < order.index(inner) for order in orders]
        assert before.count(True) == before.count(False) == 5


def test_a_change_whose_interval_excludes_zero_is_named_by_its_direction() -> None:
    falling = {"mean": -0.1, "low": -0.15, "high": -0.05, "n": 3}
    assert revision_ab.verdict(falling) == "faster"  # a latency that fell
    assert revision_ab.verdict(falling, higher_is_faster=True) == "slower"  # a throughput


def test_sentences_keep_those_of_a_useful_length() -> None:
    paragraph = "Short. This sentence is long enough to be a keyword. (This one is not.)"
    assert corpus.sentences(paragraph) == ["This sentence is long enough to be a keyword."]


def test_a_corpus_too_small_is_refused_naming_the_packages() -> None:
    with pytest.raises(corpus.CorpusError, match="apt-get install postgresql-doc-15"):
        corpus.read_pages((("none", "/nonexistent/sensa_i15"),))


def test_the_real_layout_holds_out_every_50th_paragraph_as_a_query() -> None:

    from sensa_db_tools.benchmark import embeddings, real

    pages = [
        corpus.Page("python", f"library/module{n}.html", tuple(f"Paragraph {n}-{k}. " * 6
                                                               for k in range(40)))
        for n in range(10)
    ]  # fmt: skip
    paragraphs, keywords = embeddings.corpus_texts(pages)
    vectors = np.eye(len(paragraphs), 768, dtype=np.float32)
    embedding = embeddings.CorpusEmbeddings(vectors, vectors, 1.0, "identity")
    data = real.layout(pages, embedding)

    assert len(paragraphs) == len(keywords) == 400
    assert data.scale.documents == 400 - 400 // real.HELD_OUT_EVERY
    assert len(data.held_out_documents) == 400 // real.HELD_OUT_EVERY
    # A query is never a row: its one-hot vector is orthogonal to every stored one.
    stored = data.document_vectors @ data.document_like(np.arange(len(data.course_ids))).T
    assert not stored.any()
    # Each course's query is one of its own page's held-out paragraphs.
    course = 3
    query = data.document_like(np.array([course]))[0]
    assert int(np.argmax(query)) // 40 == course
    assert data.course_names[course] == "Python manual: Library Module3"


def test_a_real_course_title_has_a_word_the_trigram_workload_can_misspell() -> None:
    from sensa_db_tools.benchmark import real, workloads

    short = real._course_name(corpus.Page("postgresql", "lo.html", ()))
    assert short == "PostgreSQL manual: Lo Page"
    # The workload misspells the longest word after the colon; "Lo" alone has no inner letter.
    word, misspelt = workloads._typo_of(short.split(":")[1], np.random.default_rng(1))
    assert (word, len(misspelt)) == ("page", 3)
    assert real._course_name(corpus.Page("python", "library/re.html", ())).endswith("Library Re")


@pytest.mark.slow
def test_the_structure_measure_tells_real_like_embeddings_from_isotropic_noise() -> None:
    from sensa_db_tools.benchmark import dataset, structure
    from sensa_db_tools.benchmark.scale import Scale

    data = dataset.generate(Scale.quick(), seed=3)
    queries = data.document_like(np.arange(len(data.course_ids)))
    shaped = structure.measure(data.document_vectors, queries, data.document_course)
    # The control: unit vectors drawn evenly over the sphere, in 40 arbitrary groups.
    noise = dataset.unit_rows(np.random.default_rng(0).standard_normal((800, 768), np.float32))
    even = structure.measure(noise, noise[:40] * -1, np.arange(800) % 40)

    # Real embeddings share a direction (mean unit vector 0.30 long) and repeat rows.
    assert shaped["mean_length"] > 0.2 > even["mean_length"]
    assert shaped["twin_share"] > 0 == even["twin_share"]
    # Neighbours are meaningful: far closer than in noise, in a low intrinsic dimension.
    assert shaped["query_d10"] < 0.7 < even["query_d10"]
    assert shaped["same_parent_neighbours"] > 0.1 > even["same_parent_neighbours"]
    rendered = structure.render({"generated": shaped, "noise": even})
    assert len(rendered) == 4
    assert rendered[2].startswith("| generated | 0.3")
