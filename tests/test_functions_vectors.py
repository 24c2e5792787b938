"""cosine_similarity(), find_similar_documents() and find_similar_keywords()."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, Engine, text

from sensa_db_tools.benchmark.plans import FUNCTION_SETTINGS
from tests.database_errors import refused
from tests.function_plans import explain, indexes_used, prepare_function_query

DIMENSIONS = 768


def axis_vector(*weights: float) -> str:
    """A 768-dimension vector literal with the given leading components, zeros after."""
    values = list(weights) + [0.0] * (DIMENSIONS - len(weights))
    return "[" + ",".join(str(v) for v in values) + "]"


@dataclass(frozen=True)
class Corpus:
    query: str
    target_course: uuid.UUID
    target_keywords: int


NEAR_KEYWORDS_ELSEWHERE = 300
TARGET_KEYWORDS = 15

CREATE_COURSE = """
WITH owner AS (
    INSERT INTO users (cognito_sub, email) VALUES (:sub, :email)
    RETURNING user_id
), course AS (
    INSERT INTO courses (user_id, name) SELECT user_id, :name FROM owner RETURNING course_id
), document AS (
    INSERT INTO course_documents
        (course_id, filename, original_filename, s3_key, s3_bucket, sha256_hash, file_size)
    SELECT course_id, 'a.pdf', 'a.pdf', 'k', 'b', repeat('a', 64), 1 FROM course
    RETURNING document_id, course_id
), processed AS (
    INSERT INTO processed_documents (document_id, course_id, concept_map, pipeline_version)
    SELECT document_id, course_id, '{}', '1' FROM document RETURNING processed_id, course_id
), chapter AS (
    INSERT INTO chapters (processed_id, chapter_number, title)
    SELECT processed_id, 1, 'One' FROM processed RETURNING chapter_id
)
SELECT chapter.chapter_id, processed.course_id FROM chapter, processed
"""

# Keywords around a base direction: each component of the base plus noise.
INSERT_KEYWORDS = """
INSERT INTO keywords (chapter_id, term, definition, embedding)
SELECT :chapter, 'term ' || n, 'definition',
       (SELECT array_agg(b.value * :scale + (random() - 0.5) * :noise ORDER BY b.n)
        FROM unnest(CAST(:base AS real[])) WITH ORDINALITY AS b(value, n)
        WHERE s.n > 0)::vector
FROM generate_series(1, :count) AS s(n)
"""


def course_parameters(name: str) -> dict[str, str]:
    return {"sub": f"owner-of-{name}", "email": f"owner-of-{name}@example.com", "name": name}


@pytest.fixture(scope="module")
def corpus(shared_engine: Engine) -> Corpus:
    """Many keywords near the query in one course, a few farther ones in the target course.

    Committed once for the module; the tests roll back their own changes.
    """
    with shared_engine.begin() as setup:
        setup.execute(text("SELECT setseed(0.31)"))
        base = [math.sin(i) for i in range(DIMENSIONS)]
        elsewhere, _ = setup.execute(text(CREATE_COURSE), course_parameters("elsewhere")).one()
        target_chapter, target_course = setup.execute(
            text(CREATE_COURSE), course_parameters("target")
        ).one()
        setup.execute(
            text(INSERT_KEYWORDS),
            {
                "chapter": elsewhere,
                "base": base,
                "scale": 1.0,
                "noise": 0.05,
                "count": NEAR_KEYWORDS_ELSEWHERE,
            },
        )
        setup.execute(
            text(INSERT_KEYWORDS),
            {
                "chapter": target_chapter,
                "base": base,
                "scale": 1.0,
                "noise": 2.0,
                "count": TARGET_KEYWORDS,
            },
        )
        setup.execute(text("ANALYZE keywords"))
    return Corpus("[" + ",".join(str(v) for v in base) + "]", target_course, TARGET_KEYWORDS)


@pytest.fixture
def index_preferred(connection: Connection) -> Connection:
    """Tables this small are cheaper to scan; make the planner choose as it would at scale."""
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    return connection


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((1.0, 0.0), (2.0, 0.0), 1.0),
        ((1.0, 0.0), (0.0, 3.0), 0.0),
        ((1.0, 0.0), (-1.0, 0.0), -1.0),
        ((1.0, 0.0), (1.0, 1.0), math.sqrt(0.5)),
    ],
)
def test_cosine_similarity(
    connection: Connection, a: tuple[float, ...], b: tuple[float, ...], expected: float
) -> None:
    similarity = connection.scalar(
        text("SELECT cosine_similarity(CAST(:a AS vector), CAST(:b AS vector))"),
        {"a": str(list(a)), "b": str(list(b))},
    )
    assert similarity == pytest.approx(expected)
    assert connection.scalar(text("SELECT cosine_similarity(NULL, '[1,2]')")) is None


def test_cosine_similarity_is_immutable(connection: Connection) -> None:
    volatility = connection.scalar(
        text("SELECT provolatile FROM pg_proc WHERE proname = 'cosine_similarity'")
    )
    assert volatility == "i"


@pytest.fixture
def documents(connection: Connection, corpus: Corpus) -> dict[str, uuid.UUID]:
    """Three processed documents at known angles to the query axis_vector(1)."""
    ids = {}
    chapters_course = connection.execute(
        text("SELECT course_id FROM courses WHERE name = 'target'")
    ).scalar_one()
    for label, weights in {
        "same": (1.0,),
        "diagonal": (1.0, 1.0),
        "orthogonal": (0.0, 1.0),
    }.items():
        ids[label] = connection.scalar(
            text(
                "WITH d AS (INSERT INTO course_documents (course_id, filename, original_filename,"
                " s3_key, s3_bucket, sha256_hash, file_size) VALUES (:c, 'x.pdf', 'x.pdf', 'k',"
                " 'b', :h, 1) RETURNING document_id, course_id) "
                "INSERT INTO processed_documents (document_id, course_id, concept_map,"
                " pipeline_version, embedding) SELECT document_id, course_id, '{}', '1',"
                " CAST(:e AS vector) FROM d RETURNING processed_id"
            ),
            {"c": chapters_course, "h": uuid.uuid4().hex * 2, "e": axis_vector(*weights)},
        )
    return ids


def similar_documents(connection: Connection, *arguments: object) -> list[tuple[uuid.UUID, float]]:
    placeholders = ", ".join(f":a{i}" for i in range(len(arguments)))
    rows = connection.execute(
        text(f"SELECT processed_id, similarity FROM find_similar_documents({placeholders})"),
        {f"a{i}": value for i, value in enumerate(arguments)},
    )
    return [(row.processed_id, row.similarity) for row in rows]


def test_similar_documents_most_similar_first_above_the_threshold(
    index_preferred: Connection, documents: dict[str, uuid.UUID]
) -> None:
    query = axis_vector(1.0)
    found = similar_documents(index_preferred, query)
    assert [pid for pid, _ in found] == [documents["same"], documents["diagonal"]]
    assert [s for _, s in found] == pytest.approx([1.0, math.sqrt(0.5)])
    everything = similar_documents(index_preferred, query, 10, -1.0)
    assert [pid for pid, _ in everything] == [
        documents[k] for k in ("same", "diagonal", "orthogonal")
    ]
    assert similar_documents(index_preferred, query, 1, -1.0) == found[:1]
    assert similar_documents(index_preferred, query, 10, 0.99) == found[:1]


def test_similar_documents_are_answered_by_the_hnsw_index(
    index_preferred: Connection, documents: dict[str, uuid.UUID]
) -> None:
    prepare_function_query(index_preferred, "find_similar_documents", "similar_documents_probe")
    nodes = explain(index_preferred, "similar_documents_probe", f"'{axis_vector(1.0)}', 10, 0.7")
    assert "idx_processed_docs_embedding" in indexes_used(nodes)


def similar_keywords(
    connection: Connection, query: str, count: int, course: uuid.UUID | None
) -> list[tuple[uuid.UUID, float]]:
    rows = connection.execute(
        text(
            "SELECT keyword_id, similarity "
            "FROM find_similar_keywords(CAST(:q AS vector), :n, -1.0, :c)"
        ),
        {"q": query, "n": count, "c": course},
    )
    return [(row.keyword_id, row.similarity) for row in rows]


def course_of_keywords(connection: Connection, keyword_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(
        connection.execute(
            text(
                "SELECT pd.course_id FROM keywords k JOIN chapters c USING (chapter_id) "
                "JOIN processed_documents pd USING (processed_id) WHERE k.keyword_id = ANY(:ids)"
            ),
            {"ids": keyword_ids},
        ).scalars()
    )


def exact_nearest_in_course(
    connection: Connection, query: str, course: uuid.UUID, count: int
) -> list[uuid.UUID]:
    # "+ 0" orders by a value the HNSW index cannot produce: an exact sort.
    return list(
        connection.scalars(
            text(
                "SELECT k.keyword_id FROM keywords k JOIN chapters c USING (chapter_id)"
                " JOIN processed_documents pd USING (processed_id) WHERE pd.course_id = :c"
                " ORDER BY (k.embedding <=> CAST(:q AS vector)) + 0, k.keyword_id LIMIT :n"
            ),
            {"q": query, "c": course, "n": count},
        )
    )


def test_a_course_filter_returns_the_courses_exact_nearest_keywords(
    index_preferred: Connection, corpus: Corpus
) -> None:
    """The course's keywords all lie beyond the nearest 100 keywords overall, where
    an HNSW scan filtered to the course (ef_search 100) would look for them."""
    among_nearest_hundred = index_preferred.scalar(
        text(
            "SELECT count(*) FROM (SELECT k.chapter_id FROM keywords k"
            " ORDER BY k.embedding <=> CAST(:q AS vector) LIMIT 100) AS nearest"
            " JOIN chapters c USING (chapter_id) JOIN processed_documents pd USING (processed_id)"
            " WHERE pd.course_id = :c"
        ),
        {"q": corpus.query, "c": corpus.target_course},
    )
    assert among_nearest_hundred < 10, "the corpus must defeat a plain HNSW scan"

    found = similar_keywords(index_preferred, corpus.query, 10, corpus.target_course)
    assert [k for k, _ in found] == exact_nearest_in_course(
        index_preferred, corpus.query, corpus.target_course, 10
    )
    assert course_of_keywords(index_preferred, [k for k, _ in found]) == {corpus.target_course}
    similarities = [s for _, s in found]
    assert similarities == sorted(similarities, reverse=True)

    everything = similar_keywords(index_preferred, corpus.query, 50, corpus.target_course)
    assert len(everything) == corpus.target_keywords


def test_without_a_course_the_nearest_keywords_anywhere(
    index_preferred: Connection, corpus: Corpus
) -> None:
    found = similar_keywords(index_preferred, corpus.query, 10, None)
    assert len(found) == 10
    assert course_of_keywords(index_preferred, [k for k, _ in found]) != {corpus.target_course}
    assert min(s for _, s in found) > 0.99


@pytest.mark.parametrize("plan_mode", ["force_custom_plan", "force_generic_plan"])
def test_similar_keywords_anywhere_are_answered_by_the_hnsw_index(
    index_preferred: Connection, corpus: Corpus, plan_mode: str
) -> None:
    index_preferred.execute(text(f"SET LOCAL plan_cache_mode = {plan_mode}"))
    prepare_function_query(index_preferred, "find_similar_keywords", "similar_keywords_plan")
    nodes = explain(index_preferred, "similar_keywords_plan", f"'{corpus.query}', 10, 0.7, NULL")
    assert "idx_keywords_embedding" in indexes_used(nodes)


@pytest.mark.parametrize("plan_mode", ["force_custom_plan", "force_generic_plan"])
def test_similar_keywords_in_a_course_are_an_exact_scan_of_its_keywords(
    index_preferred: Connection, corpus: Corpus, plan_mode: str
) -> None:
    index_preferred.execute(text(f"SET LOCAL plan_cache_mode = {plan_mode}"))
    prepare_function_query(
        index_preferred, "find_similar_keywords", "similar_keywords_in_course_plan", branch=2
    )
    nodes = explain(
        index_preferred,
        "similar_keywords_in_course_plan",
        f"'{corpus.query}', 10, 0.7, '{corpus.target_course}'",
    )
    used = indexes_used(nodes)
    assert "idx_keywords_embedding" not in used
    assert {"idx_processed_docs_course_id", "idx_keywords_chapter_id"} <= used


def test_the_callers_hnsw_settings_are_restored(connection: Connection, corpus: Corpus) -> None:
    connection.execute(text("SET LOCAL hnsw.ef_search = 55"))
    connection.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
    similar_keywords(connection, corpus.query, 3, None)
    assert connection.scalar(text("SHOW hnsw.ef_search")) == "55"
    assert connection.scalar(text("SHOW hnsw.iterative_scan")) == "strict_order"


def ef_search_pinned(source: str) -> list[str]:
    """The hnsw.ef_search values a function's body sets for its global search."""
    return re.findall(r"set_config\('hnsw\.ef_search', '(\d+)', true\)", source)


@pytest.mark.parametrize("function", ["find_similar_documents", "find_similar_keywords"])
def test_the_benchmark_measures_the_ef_search_the_function_pins(
    connection: Connection, function: str
) -> None:
    """The benchmark explains and times the functions' inner queries under
    FUNCTION_SETTINGS: a function that pinned another value would be measured at
    the wrong one."""
    source = connection.scalar(
        text("SELECT prosrc FROM pg_proc WHERE oid = CAST(:f AS regproc)"),
        {"f": f"public.{function}"},
    )
    assert ef_search_pinned(source) == [FUNCTION_SETTINGS["hnsw.ef_search"]]


def test_a_function_pinning_another_ef_search_is_caught() -> None:
    """The control: the body as it was before the searches moved to 64."""
    before = "PERFORM set_config('hnsw.ef_search', '100', true);"
    assert ef_search_pinned(before) == ["100"]
    assert ef_search_pinned(before) != [FUNCTION_SETTINGS["hnsw.ef_search"]]


# 1 + 2^-11 and its neighbours have no half-precision value: halfvec rounds them.
BETWEEN_HALF_PRECISION_VALUES = 1.00048828125


def test_similarity_is_the_full_precision_one_not_the_halfvec_rounding(
    index_preferred: Connection, documents: dict[str, uuid.UUID]
) -> None:
    """The index picks candidates by half precision; the returned similarity is the
    full-precision cosine_similarity() of the stored embedding."""
    query = axis_vector(BETWEEN_HALF_PRECISION_VALUES, 0.3337)
    full, half = index_preferred.execute(
        text(
            "SELECT cosine_similarity(embedding, CAST(:q AS vector)),"
            " 1 - (embedding::halfvec(768) <=> CAST(:q AS vector)::halfvec(768))"
            " FROM processed_documents WHERE processed_id = :id"
        ),
        {"q": query, "id": documents["diagonal"]},
    ).one()
    assert full != half, "the query must lose precision as halfvec"
    found = dict(similar_documents(index_preferred, query, 10, -1.0))
    assert found[documents["diagonal"]] == full


@pytest.mark.parametrize(
    ("largest", "accepted"),
    [(65504.0, True), (70000.0, False)],  # 65504: the largest half-precision value
)
def test_an_embedding_beyond_half_precision_is_refused_by_the_index(
    connection: Connection, corpus: Corpus, largest: float, accepted: bool
) -> None:
    chapter = connection.scalar(text("SELECT chapter_id FROM chapters LIMIT 1"))
    insert = text(
        "INSERT INTO keywords (chapter_id, term, definition, embedding)"
        " VALUES (:c, 'huge', 'd', CAST(:e AS vector))"
    )
    parameters = {"c": chapter, "e": axis_vector(largest)}
    if accepted:
        connection.execute(insert, parameters)
    else:
        with refused(connection, "22003", message="out of range for type halfvec"):
            connection.execute(insert, parameters)
    stored = connection.scalar(text("SELECT count(*) FROM keywords WHERE term = 'huge'"))
    assert stored == (1 if accepted else 0)


# No half-precision value holds 70,000 (65,504 is the largest): a search that
# converts the query to halfvec refuses it, one in full precision answers it.
QUERY_BEYOND_HALF_PRECISION = axis_vector(70000.0, 1.0)


@pytest.fixture
def learner(app_engine: Engine, shared_engine: Engine, corpus: Corpus) -> Iterator[Connection]:
    """The API acting for the owner of the target course (one processed document, its
    keywords), in a transaction rolled back after the test."""
    with shared_engine.connect() as admin:
        owner = admin.scalar(
            text("SELECT user_id FROM courses WHERE course_id = :c"), {"c": corpus.target_course}
        )
    with app_engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(text("SELECT set_current_user_id(:u)"), {"u": owner})
            yield conn
        finally:
            transaction.rollback()


def test_a_learners_search_is_an_exact_scan_in_full_precision(
    learner: Connection, connection: Connection, corpus: Corpus
) -> None:
    """A learner's own rows are ranked by the full-precision distance, with no cast
    to halfvec per row (the cost revision 7353a34f00a9 removed)."""
    learner.execute(text("UPDATE processed_documents SET embedding = CAST(:e AS vector)"),
                    {"e": axis_vector(1.0)})  # fmt: skip
    documents = similar_documents(learner, QUERY_BEYOND_HALF_PRECISION, 10, -1.0)
    assert len(documents) == 1
    keywords = similar_keywords(learner, QUERY_BEYOND_HALF_PRECISION, 10, None)
    assert len(keywords) == 10
    assert course_of_keywords(connection, [k for k, _ in keywords]) == {corpus.target_course}
    in_course = similar_keywords(learner, QUERY_BEYOND_HALF_PRECISION, 10, corpus.target_course)
    assert in_course == keywords


def test_a_caller_who_sees_more_and_names_a_learner_searches_only_their_rows(
    connection: Connection, corpus: Corpus
) -> None:
    """admin_role sees every keyword; naming a learner (the two settings
    set_current_user_id() writes, as the benchmark's baseline does) narrows the
    search to that learner's, so both sides of the benchmark do the same work."""
    connection.execute(
        text(
            "SELECT set_config('app.current_user_id', CAST(c.user_id AS text), true),"
            " set_config('app.current_user_txn',"
            " CAST(EXTRACT(epoch FROM transaction_timestamp()) AS text), true)"
            " FROM courses c WHERE c.course_id = :c"
        ),
        {"c": corpus.target_course},
    )
    found = similar_keywords(connection, QUERY_BEYOND_HALF_PRECISION, 50, None)
    assert len(found) == corpus.target_keywords
    assert course_of_keywords(connection, [k for k, _ in found]) == {corpus.target_course}


@pytest.mark.parametrize("function", ["find_similar_documents", "find_similar_keywords"])
def test_control_a_search_over_everything_converts_the_query_to_half_precision(
    connection: Connection, corpus: Corpus, function: str
) -> None:
    """The probe above tells the two paths apart: the worker's and staff's search
    goes through the halfvec index and refuses the same query."""
    with refused(connection, "22003", message="out of range for type halfvec"):
        connection.execute(
            text(f"SELECT * FROM {function}(CAST(:q AS vector), 10, -1.0)"),
            {"q": QUERY_BEYOND_HALF_PRECISION},
        )


def test_a_query_of_another_dimension_is_refused_naming_the_dimensions(
    connection: Connection, corpus: Corpus
) -> None:
    rule = "query_embedding_dimensions"
    with refused(connection, "22000", constraint=rule, message="768 dimensions, not 2"):
        similar_keywords(connection, "[1,2]", 10, None)


SEARCHES = {
    "find_similar_documents": "SELECT * FROM find_similar_documents(CAST(:q AS vector), :n, -1.0)",
    "find_similar_keywords": "SELECT * FROM find_similar_keywords(CAST(:q AS vector), :n, -1.0)",
    "find_similar_keywords in a course": (
        "SELECT * FROM find_similar_keywords(CAST(:q AS vector), :n, -1.0, :c)"
    ),
}


@pytest.mark.parametrize("search", SEARCHES)
@pytest.mark.parametrize(
    ("match_count", "accepted"), [(1, True), (100, True), (0, False), (101, False), (None, False)]
)
def test_match_count_is_bounded_naming_the_rule(
    connection: Connection, corpus: Corpus, search: str, match_count: int | None, accepted: bool
) -> None:
    """1 to 100 rows; NULL would have been no LIMIT at all."""
    parameters = {"q": corpus.query, "n": match_count, "c": corpus.target_course}
    if accepted:
        rows = connection.execute(text(SEARCHES[search]), parameters).all()
        assert len(rows) <= match_count
    else:
        with refused(connection, "22023", constraint="match_count_within_limit"):
            connection.execute(text(SEARCHES[search]), parameters)


ZERO = axis_vector()
TINY = axis_vector(1e-6)


@pytest.mark.parametrize("search", SEARCHES)
def test_a_zero_query_is_refused_naming_the_rule(
    connection: Connection, corpus: Corpus, search: str
) -> None:
    """A query of length 0 has a NaN similarity to every row, which passed any threshold;
    a short query of any direction (the control) is answered."""
    parameters = {"q": TINY, "n": 10, "c": corpus.target_course}
    connection.execute(text(SEARCHES[search]), parameters).all()
    with refused(connection, "22023", constraint="query_embedding_not_zero"):
        connection.execute(text(SEARCHES[search]), {**parameters, "q": ZERO})


def test_control_without_the_rule_a_zero_query_passes_any_threshold(
    connection: Connection, corpus: Corpus
) -> None:
    """What the rule prevents: the NaN distance of a zero query compares above 0.99."""
    nan_passes = connection.scalar(
        text(
            "SELECT count(*) FROM (SELECT 1 - (embedding <=> CAST(:q AS vector)) AS similarity"
            " FROM keywords LIMIT 10) AS candidates WHERE similarity >= 0.99"
        ),
        {"q": ZERO},
    )
    assert nan_passes == 10


def test_a_learners_zero_query_is_refused_too(learner: Connection) -> None:
    with refused(learner, "22023", constraint="query_embedding_not_zero"):
        similar_documents(learner, ZERO, 10, -1.0)


GLOBAL_SEARCH_ARGUMENTS = {
    "find_similar_documents": f"'{axis_vector(1.0)}', 10, -1",
    "find_similar_keywords": f"'{axis_vector(1.0)}', 10, -1, NULL",
}


def jit_compiled(connection: Connection, function: str, statement: str) -> bool:
    """Whether the global query of ``function``, executed under the settings in force,
    was JIT-compiled (EXPLAIN ANALYZE reports what JIT did)."""
    prepare_function_query(connection, function, statement)
    raw = connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {statement}({GLOBAL_SEARCH_ARGUMENTS[function]})"
    ).scalar_one()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return "JIT" in document[0]


@pytest.mark.parametrize("function", sorted(GLOBAL_SEARCH_ARGUMENTS))
def test_the_global_searches_are_never_jit_compiled(connection: Connection, function: str) -> None:
    """Costed for a tenth of the table (its LIMIT unknown in the generic plan), the
    global query passed jit_above_cost from a few hundred thousand rows and was
    compiled at every call: 8 ms of a 16 ms search at 1,000,000 documents. With
    JIT's threshold at 0, as any large table would make it, the function's own
    settings keep it off; the control, without them, is compiled."""
    connection.exec_driver_sql("SET LOCAL jit = on")
    connection.exec_driver_sql("SET LOCAL jit_above_cost = 0")
    assert jit_compiled(connection, function, "control")
    for setting in connection.scalar(
        text("SELECT proconfig FROM pg_proc WHERE oid = CAST(:f AS regproc)"),
        {"f": f"public.{function}"},
    ):
        name, _, value = setting.partition("=")
        connection.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )
    assert not jit_compiled(connection, function, "as_the_function_runs")
    assert FUNCTION_SETTINGS["jit"] == "off"
