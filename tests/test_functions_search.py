"""search_courses() and search_keywords(): typo-tolerant trigram search."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from sensa_db.models import Course, User
from sensa_db.security import ADMIN_ROLE
from tests.factories import make_course, make_learner_graph, make_user
from tests.function_plans import explain, indexes_used, prepare_function_query


@pytest.fixture
def learner(session: Session) -> User:
    user = make_user(session)
    for name in ["Cell Biology", "Introduction to Molecular Biology", "Organic Chemistry"]:
        make_course(session, user, name=name)
    return user


def search_courses(connection: Connection, user: User, query: str, limit: int = 20) -> list[str]:
    return list(
        connection.execute(
            text("SELECT name FROM search_courses(:u, :q, :n)"),
            {"u": user.user_id, "q": query, "n": limit},
        ).scalars()
    )


def test_a_typo_still_finds_the_course(connection: Connection, learner: User) -> None:
    assert search_courses(connection, learner, "biolgy") == [
        "Cell Biology",
        "Introduction to Molecular Biology",
    ]


def test_best_match_first_and_limited(connection: Connection, learner: User) -> None:
    rows = connection.execute(
        text("SELECT name, relevance FROM search_courses(:u, 'chemistry')"),
        {"u": learner.user_id},
    ).all()
    assert [(r.name, r.relevance) for r in rows] == [("Organic Chemistry", 1.0)]
    assert search_courses(connection, learner, "biology", limit=1) == ["Cell Biology"]


def test_unrelated_words_find_nothing(connection: Connection, learner: User) -> None:
    assert search_courses(connection, learner, "astrophysics") == []
    assert search_courses(connection, learner, "") == []


def test_only_the_learners_own_courses(
    session: Session, connection: Connection, learner: User
) -> None:
    stranger = make_user(session)
    make_course(session, stranger, name="Marine Biology")
    assert "Marine Biology" not in search_courses(connection, learner, "biology")
    assert search_courses(connection, stranger, "biology") == ["Marine Biology"]


def test_the_callers_threshold_is_restored(connection: Connection, learner: User) -> None:
    connection.execute(text("SET LOCAL pg_trgm.word_similarity_threshold = 0.9"))
    assert search_courses(connection, learner, "biolgy") != []
    assert connection.scalar(text("SHOW pg_trgm.word_similarity_threshold")) == "0.9"


def search_keywords(connection: Connection, query: str, course: Course | None = None) -> list[str]:
    return list(
        connection.execute(
            text("SELECT term FROM search_keywords(:q, :c)"),
            {"q": query, "c": course.course_id if course else None},
        ).scalars()
    )


def test_keywords_by_term_with_typos_in_one_course_or_all(
    session: Session, connection: Connection
) -> None:
    first = make_learner_graph(session)  # keywords "mitochondria" and "ATP"
    second = make_learner_graph(session)
    assert search_keywords(connection, "mitochondira", first.course) == ["mitochondria"]
    assert search_keywords(connection, "mitochondria") == ["mitochondria", "mitochondria"]
    assert search_keywords(connection, "photosynthesis", second.course) == []
    rows = connection.execute(
        text("SELECT course_id, relevance FROM search_keywords('ATP', :c)"),
        {"c": second.course.course_id},
    ).all()
    assert [(r.course_id, r.relevance) for r in rows] == [(second.course.course_id, 1.0)]


def test_keyword_search_is_served_by_the_trigram_index(
    owner_connection: Connection, owner_session: Session
) -> None:
    graph = make_learner_graph(owner_session)
    owner_session.commit()
    owner_connection.execute(
        text(
            "WITH filler AS (INSERT INTO chapters (processed_id, chapter_number, title) "
            "SELECT :p, n, 'Filler' FROM generate_series(2, 301) n RETURNING chapter_id) "
            "INSERT INTO keywords (chapter_id, term, definition) "
            "SELECT chapter_id, md5(chapter_id::text || n), 'filler' "
            "FROM filler, generate_series(1, 10) n"
        ),
        {"p": graph.processed.processed_id},
    )
    # As autovacuum would: move the new entries out of GIN's pending list (the
    # index owner's right, hence RESET ROLE).
    owner_connection.execute(text("RESET ROLE"))
    owner_connection.execute(text("SELECT gin_clean_pending_list('idx_keywords_term_trgm')"))
    owner_connection.execute(text("ANALYZE keywords, chapters"))
    owner_connection.execute(text(f"SET LOCAL ROLE {ADMIN_ROLE}"))
    owner_connection.execute(text("SET LOCAL enable_seqscan = off"))
    prepare_function_query(owner_connection, "search_keywords", "keyword_search_probe")
    nodes = explain(owner_connection, "keyword_search_probe", "'mitochondria', NULL, 20")
    assert "idx_keywords_term_trgm" in indexes_used(nodes)


def test_the_course_search_predicate_is_one_the_trigram_index_serves(
    owner_connection: Connection, owner_session: Session
) -> None:
    """A learner's few courses are best found by idx_courses_user_id; without it (as
    for a learner with very many courses) the name match is the trigram index's."""
    user = make_user(owner_session)
    make_course(owner_session, user, name="Cell Biology")
    owner_session.commit()
    owner_connection.execute(text("RESET ROLE"))
    owner_connection.execute(text("DROP INDEX idx_courses_user_id, idx_courses_user_active_recent"))
    owner_connection.execute(text(f"SET LOCAL ROLE {ADMIN_ROLE}"))
    owner_connection.execute(text("SET LOCAL enable_seqscan = off"))
    prepare_function_query(owner_connection, "search_courses", "course_search_probe")
    nodes = explain(owner_connection, "course_search_probe", f"'{user.user_id}', 'biology', 20")
    assert "idx_courses_name_trgm" in indexes_used(nodes)
