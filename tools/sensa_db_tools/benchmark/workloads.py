"""What is measured, and what each answer must be.

Two logins run the queries side by side on one loaded database:

* ``app``: a member of ``sensa_app`` (the API), each query in a transaction
  that first names a learner with ``set_current_user_id``: row-level security
  applies as in production;
* ``admin``: a member of ``admin_role``, whose policies are ``USING (true)``:
  the planner folds them away, so this is the same query with row-level
  security not applied (the baseline of the RLS ratio). Both are plain
  logins on their own connections; neither is the owner, which FORCEd
  row-level security shows no rows at all.

Each learner-scoped query names its learner or course itself, so both logins
must return the same rows; the benchmark checks that they do. Each query is
timed on both connections in alternating order, so drift in the machine
affects both sides alike. Only the query is timed (execute and fetch), not
the ``set_current_user_id`` call before it nor the commit after it.

Every answer is checked (shape, scope, order); a wrong answer is a failure,
whatever its speed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.abc import Params

from sensa_db_tools.benchmark.dataset import Dataset, Vectors, typo
from sensa_db_tools.benchmark.plans import FunctionPlan
from sensa_db_tools.benchmark.timing import Samples

Row = tuple[Any, ...]
NEIGHBOURS = 10


class WrongAnswerError(AssertionError):
    """A query answered something it must not."""


@dataclass(frozen=True)
class Target:
    """The design's promised figure and the performance target, both p95 in milliseconds."""

    design_ms: float | None
    target_ms: float | None


@dataclass(frozen=True)
class Case:
    """One execution of a workload: who asks, and with what."""

    learner: int
    params: tuple[Any, ...]
    expect: Any = None


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    statement: str
    target: Target
    make_case: Callable[[Dataset, np.random.Generator], Case]
    check: Callable[[Dataset, Case, list[Row]], None]
    # Whether the app and admin answers must be identical (the query is scoped
    # by its arguments); False where only row-level security scopes it.
    same_rows: bool = True
    # The query inside the function, explained beside the latency.
    plan: FunctionPlan | None = None


@dataclass
class Measured:
    workload: Workload
    app: Samples = field(default_factory=Samples)
    admin: Samples = field(default_factory=Samples)
    rows_returned: list[int] = field(default_factory=list)
    app_plan: str = ""
    admin_plan: str = ""

    @property
    def rls_ratio(self) -> float:
        return self.app.p50 / self.admin.p50


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise WrongAnswerError(message)


def _pick_course(data: Dataset, rng: np.random.Generator) -> tuple[int, int]:
    """A random learner and one of their courses that has processed documents."""
    learner = int(rng.integers(0, len(data.user_ids)))
    courses = data.learner_courses[learner]
    return learner, int(courses[int(rng.integers(0, len(courses)))])


def _sorted_by(rows: list[Row], column: int, *, descending: bool) -> bool:
    values = [row[column] for row in rows]
    return values == sorted(values, reverse=descending)


# -- course lookup -----------------------------------------------------------


def _course_lookup_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner = int(rng.integers(0, len(data.user_ids)))
    return Case(learner, (data.user_ids[learner],), set(data.learner_courses[learner]))


def _course_lookup_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    owned = {data.course_ids[course] for course in case.expect}
    _require({row[0] for row in rows} <= owned, "course lookup returned another learner's course")
    _require(_sorted_by(rows, 3, descending=True), "courses are not newest first")


# -- vector search -----------------------------------------------------------


def _similar_documents_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner, course = _pick_course(data, rng)
    # A learner's search answers from their own documents: ten, or all they have
    # when they have fewer (a learner of the real set may hold a few short pages).
    documents = int(np.isin(data.document_course, data.learner_courses[learner]).sum())
    return Case(learner, (data.document_like(np.array([course]))[0],), min(NEIGHBOURS, documents))


def _similarity_rows_check(rows: list[Row], similarity_column: int) -> None:
    similarities = [row[similarity_column] for row in rows]
    _require(
        all(-1.0001 <= value <= 1.0001 for value in similarities), "similarity outside [-1, 1]"
    )
    _require(similarities == sorted(similarities, reverse=True), "not most similar first")


def _similar_documents_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    _require(
        len(rows) == case.expect,
        f"find_similar_documents returned {len(rows)} rows, not {case.expect}",
    )
    _similarity_rows_check(rows, 4)


def _similar_keywords_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner, course = _pick_course(data, rng)
    documents = np.flatnonzero(data.document_course == course)
    document = int(documents[int(rng.integers(0, len(documents)))])
    query = data.keyword_like(np.array([document]))[0]
    return Case(learner, (query, data.course_ids[course]), course)


def _similar_keywords_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    # Fewer than 10 rows is a quality figure (VectorQuality.course_keyword_full_share),
    # not a wrong answer: every row returned must still be the course's.
    course_keywords = {data.keyword_ids[k] for k in data.course_keywords(case.expect).tolist()}
    _require(len(rows) <= NEIGHBOURS, "find_similar_keywords returned more than match_count")
    _require({row[0] for row in rows} <= course_keywords, "a keyword from another course")
    _similarity_rows_check(rows, 4)


# -- trigram search ----------------------------------------------------------


def _typo_of(text: str, rng: np.random.Generator) -> tuple[str, str]:
    """(the longest word of ``text``, that word with a typo)."""
    word = max(text.split(), key=len).lower()
    return word, typo(word, rng)


def _search_courses_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner, course = _pick_course(data, rng)
    word, misspelt = _typo_of(data.course_names[course].split(":")[1], rng)
    return Case(learner, (data.user_ids[learner], misspelt), (course, word))


def _search_courses_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    owned = {data.course_ids[course] for course in data.learner_courses[case.learner]}
    _require({row[0] for row in rows} <= owned, "search_courses returned another learner's course")
    _require(all(row[5] >= 0.5 for row in rows), "a course below the 0.5 relevance threshold")
    _require(_sorted_by(rows, 5, descending=True), "courses are not best match first")


def _search_keywords_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner, course = _pick_course(data, rng)
    keywords = data.course_keywords(course)
    keyword = int(keywords[int(rng.integers(0, len(keywords)))])
    word, misspelt = _typo_of(data.keyword_terms[keyword], rng)
    return Case(learner, (misspelt, data.course_ids[course]), (course, word))


def _search_keywords_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    course, _ = case.expect
    _require(
        all(row[2] == data.course_ids[course] for row in rows),
        "search_keywords returned a keyword of another course",
    )
    _require(all(row[5] >= 0.5 for row in rows), "a keyword below the 0.5 relevance threshold")
    _require(_sorted_by(rows, 5, descending=True), "keywords are not best match first")


def _search_all_keywords_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner, course = _pick_course(data, rng)
    keywords = data.course_keywords(course)
    keyword = int(keywords[int(rng.integers(0, len(keywords)))])
    word, misspelt = _typo_of(data.keyword_terms[keyword], rng)
    return Case(learner, (misspelt,), (course, word))


def _search_all_keywords_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    _require(len(rows) <= 20, "search_keywords returned more than its limit")
    _require(all(row[5] >= 0.5 for row in rows), "a keyword below the 0.5 relevance threshold")
    _require(_sorted_by(rows, 5, descending=True), "keywords are not best match first")


# -- statistics --------------------------------------------------------------


def _course_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner, course = _pick_course(data, rng)
    return Case(learner, (data.course_ids[course],), course)


def _course_stats_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    _require(len(rows) == 1, f"get_course_stats returned {len(rows)} rows for a visible course")
    total, completed, pending, failed, chapters, keywords = rows[0]
    processed = int(np.count_nonzero(data.document_course == case.expect))
    _require(completed == processed, f"{completed} completed documents, {processed} processed")
    _require(total == completed + pending + failed, "document counts do not add up")
    _require(keywords == len(data.course_keywords(case.expect)), "wrong keyword count")
    _require(chapters >= completed, "fewer chapters than processed documents")


def _progress_case(data: Dataset, rng: np.random.Generator) -> Case:
    learner, course = _pick_course(data, rng)
    return Case(learner, (data.user_ids[learner], data.course_ids[course]), course)


def _progress_check(data: Dataset, case: Case, rows: list[Row]) -> None:
    _require(len(rows) == 1, f"get_user_progress_summary returned {len(rows)} rows")
    total, completed, percentage, streak, seconds = rows[0]
    _require(0 <= completed <= total, "more chapters completed than the course has")
    _require(percentage is None or 0 <= percentage <= 100, "percentage outside 0..100")
    _require(streak >= 0 and seconds >= 0, "negative streak or time")


LEARNER_WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "course_lookup",
        "a learner's active courses, newest first",
        "SELECT course_id, name, subject, created_at FROM public.courses"
        " WHERE user_id = %s AND NOT is_archived ORDER BY created_at DESC",
        Target(10, 1),
        _course_lookup_case,
        _course_lookup_check,
    ),
    Workload(
        "find_similar_documents",
        "find_similar_documents(q, 10, -1): the app sees its learner's documents,"
        " the baseline all of them",
        "SELECT processed_id, document_id, course_id, subject, similarity"
        " FROM public.find_similar_documents(%s, 10, -1)",
        Target(50, 15),
        _similar_documents_case,
        _similar_documents_check,
        same_rows=False,
        plan=FunctionPlan(
            "find_similar_documents", lambda params: (params[0], 10, -1), learner_branch=-1
        ),
    ),
    Workload(
        "find_similar_keywords_in_course",
        "find_similar_keywords(q, 10, -1, course): an exact scan of the course's"
        " keywords, the same rows on both sides",
        "SELECT keyword_id, chapter_id, term, definition, similarity"
        " FROM public.find_similar_keywords(%s, 10, -1, %s)",
        Target(50, 15),
        _similar_keywords_case,
        _similar_keywords_check,
        plan=FunctionPlan(
            "find_similar_keywords", lambda params: (params[0], 10, -1, params[1]), branch=-1
        ),
    ),
    Workload(
        "search_courses_typo",
        "search_courses(learner, word with a typo)",
        "SELECT course_id, name, description, subject, is_archived, relevance"
        " FROM public.search_courses(%s, %s)",
        Target(20, 5),
        _search_courses_case,
        _search_courses_check,
    ),
    Workload(
        "search_keywords_typo",
        "search_keywords(word with a typo, course)",
        "SELECT keyword_id, chapter_id, course_id, term, definition, relevance"
        " FROM public.search_keywords(%s, %s)",
        Target(20, 5),
        _search_keywords_case,
        _search_keywords_check,
    ),
    Workload(
        "search_keywords_typo_all",
        "search_keywords(word with a typo): the app searches its learner's keywords,"
        " the baseline all of them",
        "SELECT keyword_id, chapter_id, course_id, term, definition, relevance"
        " FROM public.search_keywords(%s)",
        Target(20, 5),
        _search_all_keywords_case,
        _search_all_keywords_check,
        same_rows=False,
    ),
    Workload(
        "course_stats",
        "get_course_stats(course)",
        "SELECT total_documents, completed_documents, pending_documents, failed_documents,"
        " total_chapters, total_keywords FROM public.get_course_stats(%s)",
        Target(100, 10),
        _course_case,
        _course_stats_check,
    ),
    Workload(
        "progress_summary",
        "get_user_progress_summary(learner, course)",
        "SELECT total_chapters, completed_chapters, completion_percentage, current_streak,"
        " total_time_spent FROM public.get_user_progress_summary(%s, %s)",
        Target(50, 5),
        _progress_case,
        _progress_check,
    ),
)


def _run(connection: psycopg.Connection[Any], statement: str, case: Case) -> list[Row]:
    with connection.cursor() as cursor:
        cursor.execute(statement, case.params)
        return cursor.fetchall()


def _timed(
    connection: psycopg.Connection[Any],
    samples: Samples | None,
    statement: str,
    case: Case,
    learner: uuid.UUID | None,
) -> list[Row]:
    """One query in its own transaction; for the app, after naming the learner."""
    try:
        if learner is not None:
            connection.execute("SELECT public.set_current_user_id(%s)", (learner,))
        if samples is None:
            return _run(connection, statement, case)
        return samples.time(lambda: _run(connection, statement, case))
    finally:
        connection.commit()


def measure_learner_workloads(
    app: psycopg.Connection[Any],
    admin: psycopg.Connection[Any],
    data: Dataset,
    *,
    warmup: int,
    repetitions: int,
    seed: int,
    workloads: Sequence[Workload] = LEARNER_WORKLOADS,
) -> list[Measured]:
    """Each workload as the app (with its learner) and as the baseline, alternating."""
    results: list[Measured] = []
    for workload in workloads:
        rng = np.random.default_rng([seed, len(results)])
        measured = Measured(workload)
        for repetition in range(warmup + repetitions):
            case = workload.make_case(data, rng)
            learner = data.user_ids[case.learner]
            timed = repetition >= warmup
            sides = [(app, measured.app, learner), (admin, measured.admin, None)]
            if repetition % 2:
                sides.reverse()
            answers = {}
            for connection, samples, context in sides:
                answers[context is not None] = _timed(
                    connection, samples if timed else None, workload.statement, case, context
                )
            app_rows = answers[True]
            try:
                workload.check(data, case, app_rows)
            except WrongAnswerError as failure:
                raise WrongAnswerError(f"{workload.name} (as the app): {failure}") from None
            if workload.same_rows and app_rows != answers[False]:
                raise WrongAnswerError(
                    f"{workload.name}: the app and the baseline answered differently"
                    f" ({len(app_rows)} vs {len(answers[False])} rows)"
                )
            if timed:
                measured.rows_returned.append(len(app_rows))
        if workload.plan is not None:
            case = workload.make_case(data, rng)
            measured.app_plan = workload.plan.describe(
                app, case.params, data.user_ids[case.learner]
            )
            measured.admin_plan = workload.plan.describe(admin, case.params)
        results.append(measured)
    return results


# -- vector search quality ---------------------------------------------------

# The global searches' inner queries as the functions run them: twice 10
# candidates in the order of the half-precision expression the HNSW indexes are
# built on, ranked by the full-precision distance.
NEAREST_DOCUMENTS = (
    "SELECT candidates.processed_id FROM ("
    " SELECT pd.processed_id, pd.embedding <=> %(q)s AS distance"
    " FROM public.processed_documents pd"
    " ORDER BY pd.embedding::halfvec(768) <=> %(q)s::halfvec(768) LIMIT 20"
    ") AS candidates ORDER BY candidates.distance LIMIT 10"
)
NEAREST_KEYWORDS = (
    "SELECT candidates.keyword_id FROM ("
    " SELECT k.keyword_id, k.embedding <=> %(q)s AS distance FROM public.keywords k"
    " ORDER BY k.embedding::halfvec(768) <=> %(q)s::halfvec(768) LIMIT 20"
    ") AS candidates ORDER BY candidates.distance LIMIT 10"
)
# The same over the full-precision vectors: the exact answer (run with index scans
# off), and the shape an HNSW index over vector(768) answers (the functions'
# queries before revision 52a077888982).
FULL_PRECISION_DOCUMENTS = (
    "SELECT pd.processed_id FROM public.processed_documents pd"
    " ORDER BY pd.embedding <=> %(q)s LIMIT 10"
)
FULL_PRECISION_KEYWORDS = (
    "SELECT k.keyword_id FROM public.keywords k ORDER BY k.embedding <=> %(q)s LIMIT 10"
)
_NEAREST_COURSE_KEYWORDS = (
    "SELECT k.keyword_id FROM public.keywords k"
    " JOIN public.chapters c ON c.chapter_id = k.chapter_id"
    " JOIN public.processed_documents pd ON pd.processed_id = c.processed_id"
    " WHERE pd.course_id = %s ORDER BY k.embedding <=> %s LIMIT 10"
)


_SIMILAR_DOCUMENTS = "SELECT processed_id FROM public.find_similar_documents(%s, 10, -1)"
_SIMILAR_COURSE_KEYWORDS = "SELECT keyword_id FROM public.find_similar_keywords(%s, 10, -1, %s)"


def fetch_rows(connection: psycopg.Connection[Any], statement: str, params: Params) -> list[Row]:
    return connection.execute(statement, params).fetchall()


def exact_neighbours(
    connection: psycopg.Connection[Any], statement: str, params: Params
) -> list[Any]:
    """The true nearest neighbours: the same query with index scans disabled.

    Never prepared: a prepared statement keeps the plan it was first given, and
    psycopg prepares a statement on its fifth execution, so the measured query
    (same text, index scans on) would inherit this sequential scan.
    """
    try:
        connection.execute("SET LOCAL enable_indexscan = off")
        rows = connection.execute(statement, params, prepare=False)
        return [row[0] for row in rows]
    finally:
        connection.commit()


def recall(found: Sequence[Any], exact: Sequence[Any]) -> float:
    """recall@k: the share of the true k nearest that the search returned."""
    if not exact:
        return 1.0
    return len(set(found) & set(exact)) / len(exact)


@dataclass
class SweepPoint:
    ef_search: int
    recall: float
    latency: Samples


@dataclass
class VectorQuality:
    sweep: list[SweepPoint]
    keyword_sweep: list[SweepPoint]
    function_plan: str
    function_recall: float
    function_latency: Samples
    course_keyword_recall: float
    course_keyword_full_share: float
    course_keyword_latency: Samples


def compare_recall(
    admin: psycopg.Connection[Any],
    statements: Mapping[str, str],
    queries: Vectors,
    exacts: Sequence[list[Any]],
    ef_search: int,
) -> dict[str, SweepPoint]:
    """recall@10 and latency of each of ``statements`` (HNSW searches of the query
    ``%(q)s``) at ``ef_search``, taking turns query by query, so that a change in the
    machine's load falls on all of them alike."""
    latencies = {name: Samples() for name in statements}
    recalls: dict[str, list[float]] = {name: [] for name in statements}
    for query, exact in zip(queries, exacts, strict=True):
        for name, statement in statements.items():
            admin.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef_search)))
            admin.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = latencies[name].time(partial(fetch_rows, admin, statement, {"q": query}))
            admin.commit()
            recalls[name].append(recall([row[0] for row in rows], exact))
    return {
        name: SweepPoint(ef_search, float(np.mean(recalls[name])), latencies[name])
        for name in statements
    }


def sweep_recall(
    admin: psycopg.Connection[Any],
    statement: str,
    queries: Vectors,
    exacts: Sequence[list[Any]],
    ef_search_values: Sequence[int],
) -> list[SweepPoint]:
    """recall@10 and latency of ``statement`` (an HNSW search) at each hnsw.ef_search."""
    return [
        compare_recall(admin, {"swept": statement}, queries, exacts, ef_search)["swept"]
        for ef_search in ef_search_values
    ]


def measure_vector_quality(
    admin: psycopg.Connection[Any],
    data: Dataset,
    *,
    queries: int,
    ef_search_values: Sequence[int],
    seed: int,
) -> VectorQuality:
    """recall@10 of the HNSW searches against exact scans, as the baseline (every row).

    The sweeps run find_similar_documents()'s and find_similar_keywords()'s
    inner queries over every row under each hnsw.ef_search (the functions pin
    their own value, so they cannot be swept through the functions); the
    document function itself is measured as shipped, and its plan read.
    """
    rng = np.random.default_rng([seed, 99])
    courses = rng.integers(0, len(data.course_ids), size=queries)
    document_queries = data.document_like(courses)
    exact_documents = [
        exact_neighbours(admin, FULL_PRECISION_DOCUMENTS, {"q": q}) for q in document_queries
    ]
    sweep = sweep_recall(
        admin, NEAREST_DOCUMENTS, document_queries, exact_documents, ef_search_values
    )
    keyword_queries = data.keyword_like(rng.integers(0, len(data.document_ids), size=queries))
    exact_keywords = [
        exact_neighbours(admin, FULL_PRECISION_KEYWORDS, {"q": q}) for q in keyword_queries
    ]
    keyword_sweep = sweep_recall(
        admin, NEAREST_KEYWORDS, keyword_queries, exact_keywords, ef_search_values
    )

    function_latency = Samples()
    function_recalls = []
    for query, exact in zip(document_queries, exact_documents, strict=True):
        rows = function_latency.time(partial(fetch_rows, admin, _SIMILAR_DOCUMENTS, (query,)))
        admin.commit()
        function_recalls.append(recall([row[0] for row in rows], exact))

    keyword_latency = Samples()
    keyword_recalls = []
    full = 0
    for _ in range(queries):
        _, course = _pick_course(data, rng)
        documents = np.flatnonzero(data.document_course == course)
        query = data.keyword_like(documents[rng.integers(0, len(documents), size=1)])[0]
        course_id = data.course_ids[course]
        exact = exact_neighbours(admin, _NEAREST_COURSE_KEYWORDS, (course_id, query))
        rows = keyword_latency.time(
            partial(fetch_rows, admin, _SIMILAR_COURSE_KEYWORDS, (query, course_id))
        )
        admin.commit()
        keyword_recalls.append(recall([row[0] for row in rows], exact))
        full += len(rows) == min(NEIGHBOURS, len(data.course_keywords(course)))
    function_plan = FunctionPlan(
        "find_similar_documents", lambda params: (params[0], 10, -1)
    ).describe(admin, (document_queries[0],))
    return VectorQuality(
        sweep=sweep,
        keyword_sweep=keyword_sweep,
        function_plan=function_plan,
        function_recall=float(np.mean(function_recalls)),
        function_latency=function_latency,
        course_keyword_recall=float(np.mean(keyword_recalls)),
        course_keyword_full_share=full / queries,
        course_keyword_latency=keyword_latency,
    )


# -- writes ------------------------------------------------------------------


def _insert_document(
    admin: psycopg.Connection[Any], data: Dataset, rng: np.random.Generator
) -> None:
    """An upload and its concept map, as the API and the worker write them, in one transaction."""
    course = int(rng.integers(0, len(data.course_ids)))
    course_id = data.course_ids[course]
    document_id = uuid.uuid4()
    with admin.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.course_documents (document_id, course_id, filename,"
            " original_filename, s3_key, s3_bucket, sha256_hash, file_size, page_count)"
            " VALUES (%s, %s, %s, 'notes.pdf', %s, 'sensa-bench-documents', %s, 1048576, 12)",
            (
                document_id,
                course_id,
                f"{document_id}.pdf",
                f"bench/{document_id}.pdf",
                uuid.uuid4().hex + uuid.uuid4().hex,
            ),
        )
        cursor.execute(
            "UPDATE public.course_documents SET processing_status = 'processing'"
            " WHERE document_id = %s",
            (document_id,),
        )
        embedding = data.document_like(np.array([course]))[0]
        cursor.execute(
            "INSERT INTO public.processed_documents (document_id, course_id, concept_map,"
            " pipeline_version, subject, embedding) VALUES (%s, %s, '{}', '1.4.0', 'Biology', %s)"
            " RETURNING processed_id",
            (document_id, course_id, embedding),
        )
        (processed_id,) = cursor.fetchone() or (None,)
        chapter_ids = [uuid.uuid4(), uuid.uuid4()]
        cursor.executemany(
            "INSERT INTO public.chapters (chapter_id, processed_id, chapter_number, title)"
            " VALUES (%s, %s, %s, %s)",
            [
                (chapter_id, processed_id, n + 1, f"Chapter {n + 1}")
                for n, chapter_id in enumerate(chapter_ids)
            ],
        )
        documents = np.flatnonzero(data.document_course == course)[:1]
        keyword_vectors = data.keyword_like(np.repeat(documents, 3))
        cursor.executemany(
            "INSERT INTO public.keywords (chapter_id, term, definition, embedding)"
            " VALUES (%s, %s, 'a new concept', %s)",
            [
                (chapter_ids[n % 2], f"Concept {n}", vector)
                for n, vector in enumerate(keyword_vectors)
            ],
        )
        cursor.execute(
            "UPDATE public.course_documents SET processing_status = 'completed'"
            " WHERE document_id = %s RETURNING processing_status::text, processed_at",
            (document_id,),
        )
        status, processed_at = cursor.fetchone() or (None, None)
    admin.commit()
    _require(status == "completed" and processed_at is not None, "the document did not complete")


def measure_insert(
    admin: psycopg.Connection[Any], data: Dataset, *, warmup: int, repetitions: int, seed: int
) -> Samples:
    """A document with 2 chapters and 3 keywords, through every trigger and both HNSW indexes."""
    rng = np.random.default_rng([seed, 7])
    samples = Samples()
    for repetition in range(warmup + repetitions):
        if repetition < warmup:
            _insert_document(admin, data, rng)
        else:
            samples.time(lambda: _insert_document(admin, data, rng))
    return samples
