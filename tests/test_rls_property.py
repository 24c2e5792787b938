"""Property: whatever learners do, through one pooled connection, none of them ever sees
or changes another's rows.

Hypothesis draws a few learners and a sequence of operations, honest and hostile
(planting a course on someone else, writing into or moving into their courses,
transactions that fail half-way). Each operation runs in its own transaction on
the same physical connection, as sensa_app; after each, every learner sees
exactly the rows a simple model says they own, and a transaction without a
context sees none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from sensa_db.models import Course, CourseDocument, FeedbackType, User, UserAnnotation
from sensa_db.request_context import learner_session
from sensa_db.security import APP_ROLE
from tests.factories import sha256_of
from tests.rls import INSUFFICIENT_PRIVILEGE, as_login, sqlstate

KINDS = (
    "create_course",
    "plant_course",
    "add_document",
    "rename_course",
    "delete_course",
    "annotate",
    "move_document",
    "fail_half_way",
)


@dataclass
class Model:
    """Who owns what, as the policies must enforce it."""

    learners: list[uuid.UUID]
    courses: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # course -> owner
    documents: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # document -> course
    annotations: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # annotation -> course

    def owns_course(self, learner: uuid.UUID, course: uuid.UUID) -> bool:
        return self.courses[course] == learner

    def owned(self, learner: uuid.UUID) -> tuple[set[uuid.UUID], set[uuid.UUID], set[uuid.UUID]]:
        courses = {c for c, owner in self.courses.items() if owner == learner}
        return (
            courses,
            {d for d, c in self.documents.items() if c in courses},
            {a for a, c in self.annotations.items() if c in courses},
        )

    def forget_course(self, course: uuid.UUID) -> None:
        del self.courses[course]
        self.documents = {d: c for d, c in self.documents.items() if c != course}
        self.annotations = {a: c for a, c in self.annotations.items() if c != course}


@pytest.fixture(scope="module")
def one_connection_pool(shared_database: str, test_logins: None) -> Iterator[Engine]:
    engine = create_engine(
        as_login(shared_database, APP_ROLE), poolclass=QueuePool, pool_size=1, max_overflow=0
    )
    yield engine
    engine.dispose()


def _document(course: uuid.UUID) -> CourseDocument:
    tag = uuid.uuid4().hex
    return CourseDocument(
        course_id=course,
        filename=f"{tag}.pdf",
        original_filename="notes.pdf",
        s3_key=f"uploads/{tag}.pdf",
        s3_bucket="sensa-uploads",
        sha256_hash=sha256_of(tag),
        file_size=1,
    )


def _expect_denied(session: Session, *objects: object) -> None:
    session.add_all(objects)
    with pytest.raises(DBAPIError) as caught:
        session.flush()
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    session.rollback()


def _apply(session: Session, model: Model, actor: uuid.UUID, kind: str, picks: list[int]) -> None:
    courses = sorted(model.courses)
    documents = sorted(model.documents)
    course = courses[picks[0] % len(courses)] if courses else None
    other = model.learners[(model.learners.index(actor) + 1) % len(model.learners)]
    if kind == "create_course":
        new = Course(course_id=uuid.uuid4(), user_id=actor, name="mine")
        session.add(new)
        session.commit()
        model.courses[new.course_id] = actor
    elif kind == "plant_course":
        _expect_denied(session, Course(user_id=other, name="planted"))
    elif kind == "add_document" and course is not None:
        document = _document(course)
        if model.owns_course(actor, course):
            session.add(document)
            session.commit()
            model.documents[document.document_id] = course
        else:
            _expect_denied(session, document)
    elif kind == "annotate" and course is not None:
        annotation = UserAnnotation(
            user_id=actor, course_id=course, feedback_type=FeedbackType.GENERAL, rating=3
        )
        if model.owns_course(actor, course):
            session.add(annotation)
            session.commit()
            model.annotations[annotation.annotation_id] = course
        else:
            _expect_denied(session, annotation)
    elif kind == "rename_course" and course is not None:
        renamed = session.execute(
            update(Course).where(Course.course_id == course).values(name="renamed")
        ).rowcount
        session.commit()
        assert renamed == (1 if model.owns_course(actor, course) else 0)
    elif kind == "delete_course" and course is not None:
        deleted = session.execute(delete(Course).where(Course.course_id == course)).rowcount
        session.commit()
        assert deleted == (1 if model.owns_course(actor, course) else 0)
        if deleted:
            model.forget_course(course)
    elif kind == "move_document" and documents and course is not None:
        document = documents[picks[1] % len(documents)]
        owns_document = model.owns_course(actor, model.documents[document])
        statement = (
            update(CourseDocument)
            .where(CourseDocument.document_id == document)
            .values(course_id=course)
            .execution_options(synchronize_session=False)
        )
        if owns_document and not model.owns_course(actor, course):
            with pytest.raises(DBAPIError) as caught:
                session.execute(statement)
            assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
            session.rollback()
        else:
            moved = session.execute(statement).rowcount
            session.commit()
            assert moved == (1 if owns_document else 0)
            if moved:
                model.documents[document] = course
    elif kind == "fail_half_way":
        session.add(Course(user_id=actor, name="never committed"))
        session.flush()
        with pytest.raises(DBAPIError):
            session.execute(select(func.sqrt(-1)))
        session.rollback()


def _assert_isolated(factory: sessionmaker[Session], model: Model) -> None:
    for learner in model.learners:
        with learner_session(factory, learner) as session:
            seen = (
                set(session.scalars(select(Course.course_id))),
                set(session.scalars(select(CourseDocument.document_id))),
                set(session.scalars(select(UserAnnotation.annotation_id))),
            )
            assert seen == model.owned(learner)
            assert set(session.scalars(select(User.user_id))) == {learner}
    with factory() as anonymous:
        assert anonymous.scalar(select(func.count()).select_from(Course)) == 0
        assert anonymous.scalar(select(func.count()).select_from(User)) == 0


operations = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # actor
        st.sampled_from(KINDS),
        st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=2),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=30,
    deadline=None,
)
@given(learner_count=st.integers(min_value=2, max_value=3), steps=operations)
def test_no_learner_ever_reaches_another_learners_rows(
    one_connection_pool: Engine, learner_count: int, steps: list[tuple[int, str, list[int]]]
) -> None:
    factory = sessionmaker(one_connection_pool, expire_on_commit=False)
    model = Model(learners=[uuid.uuid4() for _ in range(learner_count)])
    for learner in model.learners:
        with learner_session(factory, learner) as session:
            tag = uuid.uuid4().hex
            session.add(User(user_id=learner, cognito_sub=tag, email=f"{tag}@example.com"))
            session.commit()
    for actor_index, kind, picks in steps:
        actor = model.learners[actor_index % learner_count]
        with learner_session(factory, actor) as session:
            _apply(session, model, actor, kind, picks)
        _assert_isolated(factory, model)
