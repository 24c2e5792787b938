"""find_duplicate_document() and generate_cache_key()."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.database_errors import refused
from tests.factories import make_course, make_learner_graph, make_user, sha256_of


def test_a_document_already_in_the_course_is_found_with_its_processing(
    session: Session, connection: Connection
) -> None:
    graph = make_learner_graph(session)
    found = connection.execute(
        text("SELECT * FROM find_duplicate_document(:c, :h)"),
        {"c": graph.course.course_id, "h": graph.document.sha256_hash.upper()},
    ).one()
    assert (found.document_id, found.processing_status, found.processed_id, found.cache_key) == (
        graph.document.document_id,
        "pending",
        graph.processed.processed_id,
        graph.processed.cache_key,
    )


def test_the_same_pdf_in_another_course_or_another_pdf_is_no_duplicate(
    session: Session, connection: Connection
) -> None:
    graph = make_learner_graph(session)
    other_course = make_course(session, make_user(session))
    for course_id, sha in [
        (other_course.course_id, graph.document.sha256_hash),
        (graph.course.course_id, sha256_of("another pdf")),
    ]:
        assert (
            connection.execute(
                text("SELECT * FROM find_duplicate_document(:c, :h)"), {"c": course_id, "h": sha}
            ).all()
            == []
        )


def test_the_cache_key_is_deterministic_and_per_pipeline_version(connection: Connection) -> None:
    sha = sha256_of("lecture notes")
    keys = connection.execute(
        text(
            "SELECT generate_cache_key(:h, '1.4.0'), generate_cache_key(upper(:h), '1.4.0'), "
            "generate_cache_key(:h, '1.5.0')"
        ),
        {"h": sha},
    ).one()
    assert keys == (f"{sha}:1.4.0", f"{sha}:1.4.0", f"{sha}:1.5.0")


def test_a_cache_key_fits_processed_documents(session: Session, connection: Connection) -> None:
    graph = make_learner_graph(session)
    connection.execute(
        text(
            "UPDATE processed_documents SET cache_key = generate_cache_key(:h, pipeline_version) "
            "WHERE processed_id = :p"
        ),
        {"h": graph.document.sha256_hash, "p": graph.processed.processed_id},
    )
    stored = connection.scalar(
        text("SELECT cache_key FROM processed_documents WHERE processed_id = :p"),
        {"p": graph.processed.processed_id},
    )
    assert stored == f"{graph.document.sha256_hash}:1.4.0"


@pytest.mark.parametrize(
    ("sha", "version", "rule"),
    [
        ("abc", "1.0", "cache_key_sha256_hex"),
        ("g" * 64, "1.0", "cache_key_sha256_hex"),
        ("a" * 64, "  ", "pipeline_version_not_blank"),
    ],
)
def test_a_malformed_cache_key_input_is_refused_naming_the_rule(
    connection: Connection, sha: str, version: str, rule: str
) -> None:
    with refused(connection, "22023", constraint=rule, message=f"(rule {rule})"):
        connection.execute(text("SELECT generate_cache_key(:h, :v)"), {"h": sha, "v": version})


def test_generate_cache_key_is_immutable(connection: Connection) -> None:
    volatility = connection.scalar(
        text("SELECT provolatile FROM pg_proc WHERE proname = 'generate_cache_key'")
    )
    assert volatility == "i"
