"""The design's integration tests (its Testing Strategy), run the production way.

Learners act through ``learner_session`` on a ``sensa_app`` login, the worker on a
``sensa_worker`` login, staff in ``admin_role``; everything through the package's
public API: models, sessions and the SQL functions. Three learners upload one
biology textbook (Ana to two of her courses), Ben also a PDF of his own; the
queue delivers every task twice. Then progress over several sessions, consensus
about the textbook's concept map, and Cleo deleting her account.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from sensa_db.models import (
    Chapter,
    Course,
    CourseDocument,
    FeedbackType,
    Keyword,
    PipelineResult,
    ProcessedDocument,
    User,
    UserAnnotation,
    UserProgress,
)
from sensa_db.pipeline import (
    CONSENSUS_THRESHOLD,
    ClaimOutcome,
    claim_document,
    complete_document_from_cache,
    content_consensus,
    record_pipeline_result,
)
from sensa_db.request_context import learner_session
from sensa_db.security import ADMIN_ROLE, APP_ROLE, RLS_TABLES, WORKER_ROLE
from tests.factories import make_user, sha256_of
from tests.pipeline_world import (
    CONCEPT_MAP_ROWS,
    PIPELINE_VERSION,
    concept_map_rows,
    pipeline_output,
    unit_vector,
)
from tests.rls import as_login

TEXTBOOK = "Campbell Biology, 12th edition"
BENS_NOTES = "Ben's own lecture notes"
SEEDS = {TEXTBOOK: 1, BENS_NOTES: 2}


@dataclass(frozen=True)
class Engines:
    app: Engine
    worker: Engine
    admin: Engine

    def learner(self, user_id: uuid.UUID) -> AbstractContextManager[Session]:
        """One request of ``user_id``: a learner session on the API's login."""
        return learner_session(sessionmaker(self.app), user_id)


@pytest.fixture
def engines(migrated_database: str, test_logins: None) -> Iterator[Engines]:
    made = Engines(
        *(
            create_engine(as_login(migrated_database, role), poolclass=NullPool)
            for role in (APP_ROLE, WORKER_ROLE, ADMIN_ROLE)
        )
    )
    yield made
    for engine in (made.app, made.worker, made.admin):
        engine.dispose()


def sign_up_and_upload(engines: Engines, uploads: dict[str, int]) -> dict[uuid.UUID, str]:
    """A learner signs up and uploads each PDF to ``uploads[pdf]`` courses of their own,
    as the API does: find_duplicate_document() first. Returns document -> PDF."""
    user_id = uuid.uuid4()
    documents = {}
    with engines.learner(user_id) as session:
        make_user(session, user_id)
        for pdf, courses in uploads.items():
            for number in range(courses):
                course = Course(user_id=user_id, name=f"{pdf} ({number})", subject="biology")
                session.add(course)
                session.flush()
                duplicate = session.execute(
                    text("SELECT * FROM find_duplicate_document(:c, :h)"),
                    {"c": course.course_id, "h": sha256_of(pdf)},
                ).all()
                assert duplicate == []
                document = CourseDocument(
                    course_id=course.course_id,
                    filename=f"{uuid.uuid4().hex}.pdf",
                    original_filename=f"{pdf}.pdf",
                    s3_key=f"uploads/{uuid.uuid4().hex}.pdf",
                    s3_bucket="sensa-uploads",
                    sha256_hash=sha256_of(pdf),
                    file_size=len(pdf),
                )
                session.add(document)
                session.flush()
                documents[document.document_id] = pdf
        session.commit()
    return documents


def deliver_twice(engines: Engines, documents: dict[uuid.UUID, str]) -> list[int]:
    """The queue delivers every task twice; returns how often the pipeline ran."""
    pipeline_runs = []
    with engines.worker.connect() as worker:
        for document_id in [*documents, *documents]:
            claim = claim_document(worker, document_id, "worker-1", PIPELINE_VERSION)
            worker.commit()
            if claim.outcome is not ClaimOutcome.CLAIMED:
                assert claim.outcome is ClaimOutcome.ALREADY_DONE
                continue
            if claim.result_stored:
                complete_document_from_cache(worker, claim)
            else:
                pdf = documents[document_id]
                record_pipeline_result(worker, claim, pipeline_output(pdf, SEEDS[pdf]))
                pipeline_runs.append(1)
            worker.commit()
    return pipeline_runs


def rows_by_owner(engines: Engines) -> dict[str, dict[uuid.UUID, int]]:
    """Staff's view: every learner table's row count per owner."""
    counts: dict[str, dict[uuid.UUID, int]] = {}
    with engines.admin.connect() as admin:
        for table in RLS_TABLES:
            rows = admin.execute(text(f"SELECT user_id, count(*) FROM {table} GROUP BY user_id"))
            counts[table] = {owner: number for owner, number in rows}
    return counts


def test_three_learners_share_one_pdf_processed_once_each_privately(engines: Engines) -> None:
    ana = sign_up_and_upload(engines, {TEXTBOOK: 2})
    ben = sign_up_and_upload(engines, {TEXTBOOK: 1, BENS_NOTES: 1})
    cleo = sign_up_and_upload(engines, {TEXTBOOK: 1})
    everyone = {**ana, **ben, **cleo}

    # Upload -> processing -> concept map: the pipeline runs once per content.
    assert len(deliver_twice(engines, everyone)) == len(SEEDS)
    with engines.admin.connect() as admin:
        stored = admin.scalars(select(PipelineResult.cache_key)).all()
        assert sorted(stored) == sorted(f"{sha256_of(pdf)}:{PIPELINE_VERSION}" for pdf in SEEDS)
        for document_id in everyone:
            assert concept_map_rows(admin, document_id) == CONCEPT_MAP_ROWS
        owners = {
            learner: admin.scalar(
                select(CourseDocument.user_id).where(CourseDocument.document_id.in_(documents))
            )
            for learner, documents in (("ana", ana), ("ben", ben), ("cleo", cleo))
        }

    for name, documents in (("ana", ana), ("ben", ben), ("cleo", cleo)):
        user_id = owners[name]
        with engines.learner(user_id) as session:
            # Every table shows this learner's rows only.
            for table in RLS_TABLES:
                seen = set(session.scalars(text(f"SELECT DISTINCT user_id FROM {table}")))
                assert seen <= {user_id}, table
            # Their own documents, each with its whole concept map...
            processed = session.scalars(select(ProcessedDocument.document_id)).all()
            assert sorted(processed) == sorted(documents)
            # ... found by similarity search, and only theirs.
            found = (
                session.execute(
                    text(
                        "SELECT document_id FROM find_similar_documents("
                        "CAST(:q AS vector), 10, 0.9)"
                    ),
                    {"q": str(unit_vector(SEEDS[TEXTBOOK]))},
                )
                .scalars()
                .all()
            )
            assert sorted(found) == sorted(d for d, pdf in documents.items() if pdf == TEXTBOOK)
            found_keywords = (
                session.execute(
                    text(
                        "SELECT keyword_id FROM find_similar_keywords(CAST(:q AS vector), 50, -1.0)"
                    ),
                    {"q": str(unit_vector(SEEDS[TEXTBOOK] * 10))},
                )
                .scalars()
                .all()
            )
            own_keywords = session.scalars(select(Keyword.keyword_id)).all()
            assert len(own_keywords) == len(documents) * CONCEPT_MAP_ROWS[Keyword]
            assert sorted(found_keywords) == sorted(own_keywords)
            # The shared result, the claims and the consensus are not theirs to read.
            for forbidden in (
                "SELECT count(*) FROM pipeline_results",
                "SELECT count(*) FROM document_claims",
                "SELECT count(*) FROM get_content_consensus(1)",
            ):
                with pytest.raises(DBAPIError, match="permission denied"):
                    session.execute(text(forbidden))
                session.rollback()

    # Progress across sessions: Ana studies chapter 1 today, finishes it later.
    ana_id = owners["ana"]
    ana_course = _first_course_with(engines, ana_id, TEXTBOOK)
    with engines.learner(ana_id) as session:
        first = session.scalars(
            select(Chapter)
            .join(ProcessedDocument)
            .where(ProcessedDocument.course_id == ana_course, Chapter.chapter_number == 1)
        ).one()
        session.add(
            UserProgress(
                user_id=ana_id,
                course_id=ana_course,
                chapter_id=first.chapter_id,
                time_spent_seconds=600,
            )
        )
        session.commit()
        first_chapter_id = first.chapter_id
    with engines.learner(ana_id) as session:
        progress = session.scalars(
            select(UserProgress).where(UserProgress.chapter_id == first_chapter_id)
        ).one()
        progress.time_spent_seconds += 300
        progress.completed = True
        session.commit()
    with engines.learner(ana_id) as session:
        summary = (
            session.execute(
                text("SELECT * FROM get_user_progress_summary(:u, :c)"),
                {"u": ana_id, "c": ana_course},
            )
            .mappings()
            .one()
        )
        assert summary["total_chapters"] == 2
        assert summary["completed_chapters"] == 1
        assert summary["total_time_spent"] == 900
        assert summary["current_streak"] == 1
        assert (
            session.scalar(
                select(UserProgress.completed_at).where(UserProgress.chapter_id == first_chapter_id)
            )
            is not None
        )

    # Feedback consensus about the textbook's concept map.
    textbook_key = f"{sha256_of(TEXTBOOK)}:{PIPELINE_VERSION}"

    def agreed() -> list[tuple[str, int]]:
        with engines.worker.connect() as worker:
            return [(c.cache_key, c.learner_count) for c in content_consensus(worker)]

    # Ana rates both of her copies: one learner, counted once.
    for document_id in ana:
        rate(engines, ana_id, document_id, rating=2)
    rate(engines, owners["ben"], _document_of(ben, TEXTBOOK), rating=2)
    assert agreed() == []
    rate(engines, owners["cleo"], _document_of(cleo, TEXTBOOK), rating=2)
    assert agreed() == [(textbook_key, CONSENSUS_THRESHOLD)]
    with engines.admin.connect() as admin:
        assert [c.learner_count for c in content_consensus(admin)] == [CONSENSUS_THRESHOLD]
    # No learner's own row tells them how many others rated the same PDF.
    with engines.learner(ana_id) as session:
        assert set(session.scalars(select(UserAnnotation.consensus_count))) == {1}

    # Cleo deletes her account: everything of hers goes, the others keep everything.
    before = rows_by_owner(engines)
    with engines.learner(owners["cleo"]) as session:
        session.delete(session.get_one(User, owners["cleo"]))
        session.commit()
    after = rows_by_owner(engines)
    for table in RLS_TABLES:
        assert owners["cleo"] not in after[table], table
        expected = {o: n for o, n in before[table].items() if o != owners["cleo"]}
        assert after[table] == expected, table
    with engines.admin.connect() as admin:
        assert admin.scalar(select(func.count()).select_from(PipelineResult)) == len(SEEDS)
        for document_id in {**ana, **ben}:
            assert concept_map_rows(admin, document_id) == CONCEPT_MAP_ROWS
    assert agreed() == []


def rate(engines: Engines, user_id: uuid.UUID, document_id: uuid.UUID, rating: int) -> None:
    """A learner rates the concept map the pipeline made of one of their documents."""
    with engines.learner(user_id) as session:
        processed = session.scalars(
            select(ProcessedDocument).where(ProcessedDocument.document_id == document_id)
        ).one()
        session.add(
            UserAnnotation(
                user_id=user_id,
                course_id=processed.course_id,
                processed_id=processed.processed_id,
                feedback_type=FeedbackType.CONCEPT_MAP,
                rating=rating,
            )
        )
        session.commit()


def _document_of(documents: dict[uuid.UUID, str], pdf: str) -> uuid.UUID:
    return next(document_id for document_id, name in documents.items() if name == pdf)


def _first_course_with(engines: Engines, user_id: uuid.UUID, pdf: str) -> uuid.UUID:
    with engines.learner(user_id) as session:
        course_id: uuid.UUID = session.scalars(
            select(CourseDocument.course_id)
            .where(CourseDocument.sha256_hash == sha256_of(pdf))
            .order_by(CourseDocument.course_id)
        ).first()  # type: ignore[assignment]
        return course_id
