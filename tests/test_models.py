"""What an API engineer relies on when importing sensa_db.models."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from sensa_db.models import (
    Chapter,
    Course,
    ProcessingStatus,
    User,
    UserProfile,
    UserRole,
)
from tests.factories import EMBEDDING, make_learner_graph


def test_the_package_is_typed() -> None:
    assert resources.files("sensa_db").joinpath("py.typed").is_file()


def test_relationships_navigate_from_user_down_to_keywords_and_back(session: Session) -> None:
    graph = make_learner_graph(session)
    session.expire_all()
    user = session.get_one(User, graph.user.user_id)

    [course] = user.courses
    [document] = course.documents
    assert document.processed_document is not None
    [chapter] = document.processed_document.chapters
    assert {keyword.term for keyword in chapter.keywords} == {"mitochondria", "ATP"}
    [relationship] = chapter.relationships
    assert relationship.source_keyword.term == "mitochondria"
    assert relationship.target_keyword.outgoing_relationships == []
    assert relationship.target_keyword.incoming_relationships == [relationship]
    assert chapter.complexity is not None
    assert user.profile is not None
    assert user.profile.user is user
    assert [p.chapter for p in user.progress] == [chapter]
    assert chapter.processed_document.course is course


def test_enums_are_stored_as_their_values(session: Session, connection: Connection) -> None:
    graph = make_learner_graph(session)
    graph.user.role = UserRole.MODERATOR
    session.flush()
    stored = connection.execute(
        text(
            "SELECT role::text, processing_status::text FROM users JOIN courses USING (user_id) "
            "JOIN course_documents USING (course_id) WHERE users.user_id = :id"
        ),
        {"id": graph.user.user_id},
    ).one()
    assert tuple(stored) == ("moderator", "pending")
    session.expire_all()
    assert session.get_one(User, graph.user.user_id).role is UserRole.MODERATOR
    assert graph.document.processing_status is ProcessingStatus.PENDING


def test_server_defaults_fill_what_the_api_leaves_out(session: Session) -> None:
    graph = make_learner_graph(session)
    session.refresh(graph.user)
    session.refresh(graph.progress)
    assert graph.user.role is UserRole.USER
    assert graph.user.is_active is True
    assert graph.user.email_verified is False
    assert graph.user.created_at is not None
    assert graph.user.created_at.tzinfo is not None
    assert (graph.progress.time_spent_seconds, graph.progress.badges) == (0, [])


def test_embeddings_round_trip_and_order_by_cosine_distance(session: Session) -> None:
    graph = make_learner_graph(session)
    session.expire_all()
    [source, _] = sorted(graph.chapter.keywords, key=lambda k: k.term != "mitochondria")
    assert list(source.embedding) == EMBEDDING[:1] * 768
    nearest = session.scalars(
        select(Chapter.title)
        .join(Chapter.keywords)
        .order_by(source.__class__.embedding.cosine_distance(EMBEDDING))
        .limit(1)
    ).one()
    assert nearest == "The cell"


def test_a_profile_location_point_answers_distance_queries(session: Session) -> None:
    graph = make_learner_graph(session)
    graph.profile.location_point = "SRID=4326;POINT(-0.1276 51.5072)"  # London
    session.flush()
    within_50km_of_oxford = session.scalar(
        select(func.count())
        .select_from(UserProfile)
        .where(
            func.ST_DWithin(
                UserProfile.location_point, func.ST_GeogFromText("POINT(-1.2577 51.752)"), 100_000
            )
        )
    )
    assert within_50km_of_oxford == 1
    assert session.scalar(select(func.count()).select_from(Course)) == 1
