"""Consensus across learners about the same content: get_content_consensus() and the
stamp_annotation_cache_key() trigger that says which content an annotation rates."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from sensa_db.models import FeedbackType, ProcessedDocument, UserAnnotation
from sensa_db.pipeline import CONSENSUS_THRESHOLD, content_consensus
from sensa_db.request_context import set_transaction_user
from tests.database_errors import refused
from tests.factories import make_learner_graph
from tests.rls import SeededLearner

SHARED_KEY = f"{'c' * 64}:1.4.0"


def learner_with_content(session: Session, cache_key: str) -> ProcessedDocument:
    """A learner whose one processed document was made from the result under ``cache_key``."""
    processed = make_learner_graph(session).processed
    processed.cache_key = cache_key
    session.flush()
    return processed


def rate(session: Session, processed: ProcessedDocument, rating: int | None = 2) -> UserAnnotation:
    annotation = UserAnnotation(
        user_id=processed.user_id,
        course_id=processed.course_id,
        processed_id=processed.processed_id,
        feedback_type=FeedbackType.CONCEPT_MAP,
        rating=rating,
    )
    session.add(annotation)
    session.flush()
    return annotation


def agreed(
    connection: Connection, min_users: int = CONSENSUS_THRESHOLD, key: str = SHARED_KEY
) -> dict[str, int]:
    """The consensus on ``key`` alone: the module's database holds other tests' groups."""
    return {
        c.cache_key: c.learner_count
        for c in content_consensus(connection, min_users)
        if c.cache_key == key
    }


def test_three_distinct_learners_reach_consensus_and_two_do_not(
    session: Session, connection: Connection
) -> None:
    documents = [learner_with_content(session, SHARED_KEY) for _ in range(3)]
    rate(session, documents[0])
    rate(session, documents[1])
    assert agreed(connection) == {}
    assert agreed(connection, 2) == {SHARED_KEY: 2}
    rate(session, documents[2])
    assert agreed(connection) == {SHARED_KEY: 3}
    assert agreed(connection, 4) == {}


def test_one_learners_repeated_ratings_count_once(session: Session, connection: Connection) -> None:
    document = learner_with_content(session, SHARED_KEY)
    for _ in range(3):
        rate(session, document)
    assert agreed(connection, 1) == {SHARED_KEY: 1}
    assert agreed(connection) == {}


def test_different_ratings_and_processed_annotations_do_not_agree(
    session: Session, connection: Connection
) -> None:
    documents = [learner_with_content(session, SHARED_KEY) for _ in range(3)]
    rate(session, documents[0], rating=2)
    rate(session, documents[1], rating=2)
    rate(session, documents[2], rating=5)
    assert agreed(connection) == {}
    handled = rate(session, documents[2], rating=2)
    assert agreed(connection) == {SHARED_KEY: 3}
    handled.processed = True
    session.flush()
    assert agreed(connection) == {}


def test_a_minimum_below_one_is_refused(connection: Connection) -> None:
    with refused(connection, "22023", constraint="min_users_positive"):
        content_consensus(connection, 0)


def test_the_rated_content_comes_from_the_processed_document_not_the_writer(
    session: Session,
) -> None:
    document = learner_with_content(session, SHARED_KEY)
    annotation = rate(session, document)
    assert annotation.cache_key == SHARED_KEY
    annotation.cache_key = "forged:1.0"
    session.flush()
    session.refresh(annotation)
    assert annotation.cache_key == SHARED_KEY
    # Without a processed document, no content: a typed key is not taken.
    general = UserAnnotation(
        user_id=document.user_id,
        course_id=document.course_id,
        feedback_type=FeedbackType.GENERAL,
        rating=2,
        cache_key=SHARED_KEY,
    )
    session.add(general)
    session.flush()
    session.refresh(general)
    assert general.cache_key is None


def test_a_deleted_processed_document_leaves_the_rating_about_its_content(
    session: Session,
) -> None:
    document = learner_with_content(session, SHARED_KEY)
    annotation = rate(session, document)
    session.delete(document)
    session.flush()
    session.refresh(annotation)
    assert annotation.processed_id is None
    assert annotation.cache_key == SHARED_KEY


def test_a_learner_rates_only_their_own_processed_documents(
    app_connection: Connection, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    mine, theirs = learners
    set_transaction_user(app_connection, mine.user_id)
    insert = text(
        "INSERT INTO user_annotations (user_id, course_id, processed_id, feedback_type, rating)"
        " VALUES (:u, :c, :p, 'concept_map', 2) RETURNING cache_key"
    )
    # Another learner's document and a document that does not exist get the
    # same answer: nothing tells the learner the other one exists.
    for processed_id in (theirs.processed_id, uuid.uuid4()):
        with refused(
            app_connection,
            "23514",
            constraint="user_annotations_processed_document_in_course",
        ):
            app_connection.execute(
                insert, {"u": mine.user_id, "c": mine.course_id, "p": processed_id}
            )
    own_key = app_connection.scalar(
        insert, {"u": mine.user_id, "c": mine.course_id, "p": mine.processed_id}
    )
    assert own_key == app_connection.scalar(
        select(ProcessedDocument.cache_key).where(
            ProcessedDocument.processed_id == mine.processed_id
        )
    )


def test_the_worker_and_staff_list_what_learners_agreed_on(
    shared_engine: Engine, worker_engine: Engine
) -> None:
    committed_key = f"{uuid.uuid4().hex}{uuid.uuid4().hex}:1.4.0"
    with Session(shared_engine) as admin_session:
        for _ in range(CONSENSUS_THRESHOLD):
            rate(admin_session, learner_with_content(admin_session, committed_key))
        admin_session.commit()
    for engine in (worker_engine, shared_engine):
        with engine.connect() as connection:
            assert agreed(connection, key=committed_key) == {committed_key: CONSENSUS_THRESHOLD}


def test_a_learner_may_not_list_consensus(app_connection: Connection) -> None:
    with refused(app_connection, "42501", message="get_content_consensus"):
        content_consensus(app_connection)
