"""Development data: a small Sensa Learn world that exercises every part of the schema.

Learners of every learning style and every role; courses, one empty and one
archived; documents in every processing status, the failed one with its
error; processed documents with concept maps and embeddings; chapters of every
complexity with keywords and relationships within and across chapters;
annotations with one group of learners that reaches consensus; analogy
feedback; progress with a streak and badges. One PDF (cells.pdf) is shared:
bo and chen upload it to courses of their own, the worker protocol gives their
copies concept maps from the result stored once for its content, and the three
of them reach consensus about that content; a document being processed is
held by a worker's claim.

Every row has a deterministic id (uuid5 of its natural name) and every insert
is ``ON CONFLICT DO NOTHING``, so a second run adds nothing; the follow-up
updates (a document's status walk, a streak) run only for rows the same run
inserted. Documents are inserted ``pending`` and moved on as the pipeline
would, because the database refuses any other path.

Row-level security is FORCEd, so the owner sees no rows: seeding acts as
``admin_role`` (and as ``sensa_worker`` for the worker's steps), through a
membership granted inside that transaction and revoked before it commits (a
standing membership would put the owner under admin_role's policies for good).
Seeding refuses anything that looks like production: see :func:`production_reason`.
"""

from __future__ import annotations

import math
import os
import random
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import URL, Connection, func, inspect, select, text, update
from sqlalchemy.dialects.postgresql import insert

from sensa_db.models import (
    AnalogyFeedback,
    Base,
    Chapter,
    ChapterComplexity,
    ComplexityLevel,
    Course,
    CourseDocument,
    FeedbackType,
    Keyword,
    KeywordRelationship,
    LearningStyle,
    ProcessedDocument,
    ProcessingStatus,
    User,
    UserAnnotation,
    UserProfile,
    UserProgress,
    UserRole,
)
from sensa_db.models.processed_document import EMBEDDING_DIMENSIONS
from sensa_db.pipeline import (
    ClaimOutcome,
    PipelineOutput,
    claim_document,
    complete_document_from_cache,
    record_pipeline_result,
)
from sensa_db.security import ADMIN_ROLE, WORKER_ROLE

SEED_NAMESPACE = uuid.UUID("6f1c2b1e-5d8a-4c1e-9b2a-2f5e0d7c9a41")
SEED_EMAIL_DOMAIN = "seed.sensa.invalid"
PIPELINE_VERSION = "1.4.0"
ENVIRONMENT_VARIABLES = ("SENSA_ENV", "ENVIRONMENT", "APP_ENV")
PRODUCTION_NAMES = ("prod", "production", "live")
# More learners than this who are not the seeds' own, and the database holds
# somebody's data: refuse, whatever the environment says.
LIVE_USER_THRESHOLD = 100

Progress = Callable[[str], None]


class ProductionGuardError(RuntimeError):
    """Seeding was refused because the target looks like production."""


def seed_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(SEED_NAMESPACE, "/".join(parts))


def embedding(topic: str, *parts: str) -> list[float]:
    """A unit vector near its topic's centre: related material gets similar vectors."""
    # Seeded generators: the same data on every run, which is the point here.
    centre = random.Random(f"topic/{topic}")  # noqa: S311
    jitter = random.Random("/".join((topic, *parts)))  # noqa: S311
    vector = [centre.gauss(0, 1) + 0.35 * jitter.gauss(0, 1) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def production_reason(url: URL, environ: Mapping[str, str]) -> str | None:
    """Why ``url`` in this environment looks like production, or None."""
    for variable in ENVIRONMENT_VARIABLES:
        if environ.get(variable, "").strip().lower() in PRODUCTION_NAMES:
            return f"{variable}={environ[variable]} says production"
    if url.host and url.host.endswith(".rds.amazonaws.com"):
        return f"{url.host} is an RDS endpoint; seeds are for local databases"
    if url.database and any(name in url.database.lower() for name in PRODUCTION_NAMES):
        return f"database {url.database!r} is named like production"
    return None


@dataclass
class SeedReport:
    inserted: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        self.inserted[table] = self.inserted.get(table, 0) + count

    @property
    def total(self) -> int:
        return sum(self.inserted.values())


@dataclass(frozen=True)
class Learner:
    handle: str
    role: UserRole
    style: LearningStyle | None
    interests: tuple[str, ...]
    point: str | None = None


LEARNERS = (
    Learner(
        "ada",
        UserRole.USER,
        LearningStyle.VISUAL,
        ("astronomy", "knitting"),
        "POINT(-0.1276 51.5072)",
    ),
    Learner("bo", UserRole.USER, LearningStyle.AUDITORY, ("jazz", "football")),
    Learner(
        "chen",
        UserRole.USER,
        LearningStyle.KINESTHETIC,
        ("climbing", "cooking"),
        "POINT(4.8357 45.764)",
    ),
    Learner("dara", UserRole.USER, LearningStyle.READING, ("novels",)),
    Learner("morgan", UserRole.MODERATOR, LearningStyle.READING, ("debating",)),
    Learner("sam", UserRole.ADMIN, None, ()),
)


@dataclass(frozen=True)
class SeedCourse:
    owner: str
    name: str
    subject: str
    archived: bool = False


COURSES = (
    SeedCourse("ada", "Cell Biology", "biology"),
    SeedCourse("ada", "Organic Chemistry", "chemistry"),  # nothing uploaded yet
    SeedCourse("bo", "Music Theory", "music"),
    SeedCourse("bo", "World History", "history", archived=True),
    SeedCourse("chen", "Physics of Climbing", "physics"),
    SeedCourse("dara", "The Victorian Novel", "literature"),
    SeedCourse("bo", "Biology 101", "biology"),
    SeedCourse("chen", "Human Biology", "biology"),
)

# (course, file, final status); failed documents carry SEED_FAILURE.
DOCUMENTS = (
    ("Cell Biology", "cells.pdf", "completed"),
    ("Cell Biology", "genetics.pdf", "processing"),
    ("Cell Biology", "lab-notes.pdf", "pending"),
    ("Cell Biology", "scanned-handout.pdf", "failed"),
    ("Music Theory", "harmony.pdf", "completed"),
    ("World History", "empires.pdf", "completed"),
    ("Physics of Climbing", "friction.pdf", "completed"),
    ("The Victorian Novel", "middlemarch-notes.pdf", "pending"),
)
# Copies of cells.pdf's content uploaded by other learners: (course, file). The
# worker protocol completes them from the result stored for cells.pdf.
SHARED_PDF = "cells.pdf"
SHARED_COPIES = (("Biology 101", "cells (bo).pdf"), ("Human Biology", "cells (chen).pdf"))
SEED_WORKER = "seed-worker"
SEED_FAILURE = "no text layer: the PDF is scanned images, which this pipeline cannot read"

# Per completed document: chapters (title, complexity, score, keyword terms).
CHAPTERS: Mapping[str, Sequence[tuple[str, ComplexityLevel, int, Sequence[str]]]] = {
    "cells.pdf": (
        ("The cell", ComplexityLevel.LOW, 25, ("cell membrane", "cytoplasm", "nucleus")),
        ("Energy", ComplexityLevel.MEDIUM, 55, ("mitochondria", "ATP", "glycolysis")),
        ("Gene expression", ComplexityLevel.HIGH, 85, ("transcription", "translation", "ribosome")),
    ),
    "harmony.pdf": (("Intervals", ComplexityLevel.LOW, 20, ("interval", "octave")),),
    "empires.pdf": (("Rome", ComplexityLevel.MEDIUM, 50, ("republic", "legion")),),
    "friction.pdf": (
        ("Friction", ComplexityLevel.MEDIUM, 45, ("static friction", "normal force")),
    ),
}
# Relationships: (document, source term, target term, type, strength).
RELATIONSHIPS = (
    ("cells.pdf", "nucleus", "cytoplasm", "surrounded_by", "0.80"),
    ("cells.pdf", "mitochondria", "ATP", "produces", "0.95"),
    ("cells.pdf", "glycolysis", "ATP", "produces", "0.70"),
    ("cells.pdf", "transcription", "translation", "precedes", "0.90"),
    ("cells.pdf", "ATP", "ribosome", "powers", "0.60"),  # across chapters
    ("cells.pdf", "nucleus", "transcription", "hosts", "0.85"),  # across chapters
    ("friction.pdf", "normal force", "static friction", "bounds", "0.90"),
)
# Three learners agree on the concept map of Cell Biology: consensus.
ANNOTATIONS = (
    ("ada", "Cell Biology", FeedbackType.CONCEPT_MAP, 4, "clear map"),
    ("bo", "Cell Biology", FeedbackType.CONCEPT_MAP, 4, None),
    ("chen", "Cell Biology", FeedbackType.CONCEPT_MAP, 4, "good links"),
    ("dara", "Cell Biology", FeedbackType.CONCEPT_MAP, 2, "too dense"),
    ("ada", "Cell Biology", FeedbackType.PROCESSING, 5, "fast"),
    ("bo", "Music Theory", FeedbackType.ANALOGY, 3, None),
    ("chen", "Physics of Climbing", FeedbackType.GENERAL, 5, None),
)
# Three learners rate what the pipeline made of the shared PDF, each their own
# copy: consensus about the content (get_content_consensus()).
CONTENT_ANNOTATIONS = (
    ("ada", "cells.pdf", 3, "misses the Krebs cycle"),
    ("bo", "cells (bo).pdf", 3, None),
    ("chen", "cells (chen).pdf", 3, "where is the Krebs cycle?"),
)
# (learner, document, chapter number, analogy, helpful).
ANALOGY_FEEDBACK = (
    ("ada", "cells.pdf", 1, "cell-as-a-city", True),
    ("ada", "cells.pdf", 2, "mitochondria-as-power-plant", True),
    ("ada", "cells.pdf", 3, "ribosome-as-3d-printer", False),
    ("chen", "friction.pdf", 1, "friction-as-velcro", True),
)
# (learner, document, chapter number, seconds, completed, badges).
PROGRESS = (
    ("ada", "cells.pdf", 1, 3600, True, ("first_chapter", "five_day_streak")),
    ("ada", "cells.pdf", 2, 1500, False, ()),
    ("bo", "harmony.pdf", 1, 900, True, ("first_chapter",)),
    ("chen", "friction.pdf", 1, 300, False, ()),
)
# ada has studied five days running: her latest row carries the streak.
STREAK = ("ada", "cells.pdf", 2, 5, 6)


def _user(handle: str) -> uuid.UUID:
    return seed_id("user", handle)


def _course(name: str) -> uuid.UUID:
    return seed_id("course", name)


def _document(file: str) -> uuid.UUID:
    return seed_id("document", file)


def _chapter(file: str, number: int) -> uuid.UUID:
    return seed_id("chapter", file, str(number))


def _keyword(file: str, term: str) -> uuid.UUID:
    return seed_id("keyword", file, term)


def _insert(
    connection: Connection, model: type[Base], rows: Sequence[Mapping[str, Any]]
) -> set[Any]:
    """Insert the rows not there yet; the primary keys of those inserted."""
    [key] = inspect(model).primary_key
    statement = insert(model).values(list(rows)).on_conflict_do_nothing().returning(key)
    return set(connection.scalars(statement))


def seed(
    connection: Connection,
    progress: Progress = lambda _: None,
    environ: Mapping[str, str] = os.environ,
) -> SeedReport:
    """Load the development data in ``connection``'s transaction; the caller commits.

    Raises :class:`ProductionGuardError`, having written nothing, when the
    target looks like production.
    """
    reason = production_reason(connection.engine.url, environ)
    if reason is not None:
        raise ProductionGuardError(f"not seeding: {reason}")
    with _acting_as(connection, ADMIN_ROLE):
        real_users = connection.scalar(
            select(func.count())
            .select_from(User)
            .where(User.email.not_like(f"%@{SEED_EMAIL_DOMAIN}"))
        )
        if real_users and real_users > LIVE_USER_THRESHOLD:
            raise ProductionGuardError(
                f"not seeding: the database holds {real_users} users of its own; it looks live"
            )
        report = SeedReport()
        for step in (_people, _courses, _documents, _concept_maps, _feedback, _progress):
            step(connection, report, progress)
    with _acting_as(connection, WORKER_ROLE):
        _worker_processing(connection, report, progress)
    with _acting_as(connection, ADMIN_ROLE):
        _content_feedback(connection, report, progress)
    return report


@contextmanager
def _acting_as(connection: Connection, role: str) -> Iterator[None]:
    """``SET LOCAL ROLE role`` for the block, holding the membership only meanwhile.

    On an error the block's exception propagates and the caller's rollback
    takes the membership with it.
    """
    granted = not connection.scalar(
        text("SELECT pg_has_role(current_user, :role, 'MEMBER')"), {"role": role}
    )
    if granted:
        connection.execute(text(f"GRANT {role} TO CURRENT_USER"))
    connection.execute(text(f"SET LOCAL ROLE {role}"))
    yield
    connection.execute(text("RESET ROLE"))
    if granted:
        connection.execute(text(f"REVOKE {role} FROM CURRENT_USER"))


def _people(connection: Connection, report: SeedReport, progress: Progress) -> None:
    progress("users and profiles")
    users = [
        {
            "user_id": _user(learner.handle),
            "cognito_sub": f"seed-{learner.handle}",
            "email": f"{learner.handle}@{SEED_EMAIL_DOMAIN}",
            "email_verified": learner.handle != "dara",
            "role": learner.role,
        }
        for learner in LEARNERS
    ]
    report.add("users", len(_insert(connection, User, users)))
    profiles = [
        {
            "profile_id": seed_id("profile", learner.handle),
            "user_id": _user(learner.handle),
            "learning_style": learner.style,
            "interests": list(learner.interests),
            "location_point": f"SRID=4326;{learner.point}" if learner.point else None,
        }
        for learner in LEARNERS
    ]
    report.add("user_profiles", len(_insert(connection, UserProfile, profiles)))


def _courses(connection: Connection, report: SeedReport, progress: Progress) -> None:
    progress("courses")
    rows = [
        {
            "course_id": _course(course.name),
            "user_id": _user(course.owner),
            "name": course.name,
            "subject": course.subject,
            "description": f"{course.name}, uploaded by {course.owner}",
            "is_archived": course.archived,
        }
        for course in COURSES
    ]
    report.add("courses", len(_insert(connection, Course, rows)))


def _content(file: str) -> str:
    """The PDF a file is: a shared copy is the original's content."""
    return SHARED_PDF if file in {copy for _, copy in SHARED_COPIES} else file


def _sha256(file: str) -> str:
    return uuid.uuid5(SEED_NAMESPACE, _content(file)).hex * 2


def _uploads() -> list[tuple[str, str, int]]:
    """Every uploaded (course, file, index of its content): a copy has its original's size."""
    files = [file for _, file, _ in DOCUMENTS]
    uploads = [(course, file) for course, file, _ in DOCUMENTS] + list(SHARED_COPIES)
    return [(course, file, files.index(_content(file))) for course, file in uploads]


def _documents(connection: Connection, report: SeedReport, progress: Progress) -> None:
    progress("documents, walked through their processing status")
    rows = [
        {
            "document_id": _document(file),
            "course_id": _course(course),
            "filename": f"{_document(file)}.pdf",
            "original_filename": file,
            "s3_key": f"uploads/{_course(course)}/{_document(file)}.pdf",
            "s3_bucket": "sensa-dev-uploads",
            "sha256_hash": _sha256(file),
            "file_size": 250_000 + 1_000 * index,
            "mime_type": "application/pdf",
            "page_count": 10 + index,
        }
        for course, file, index in _uploads()
    ]
    inserted = _insert(connection, CourseDocument, rows)
    report.add("course_documents", len(inserted))
    # Documents still processing, and the shared copies, are the worker's (_worker_processing).
    walks = {
        "completed": ("processing", "completed"),
        "failed": ("processing", "failed"),
    }
    for _, file, final in DOCUMENTS:
        if _document(file) not in inserted:
            continue
        for status in walks.get(final, ()):
            connection.execute(
                update(CourseDocument)
                .where(CourseDocument.document_id == _document(file))
                .values(
                    processing_status=status,
                    task_id=f"seed-task-{file}",
                    error_message=SEED_FAILURE if status == "failed" else None,
                )
            )


def _concept_map(file: str) -> dict[str, Any]:
    return {
        "chapters": [title for title, *_ in CHAPTERS[file]],
        "concepts": [{"name": term} for *_, terms in CHAPTERS[file] for term in terms],
    }


def _chapter_output(
    number: int, title: str, level: ComplexityLevel, score: int, terms: Sequence[str]
) -> dict[str, Any]:
    """A chapter's columns as the pipeline outputs them."""
    return {
        "chapter_number": number,
        "title": title,
        "summary": f"{title}: {', '.join(terms)}.",
        "exam_relevance_score": 100 - score // 2,
        "complexity_score": score,
        "complexity_level": level,
        "estimated_time_minutes": 15 + score // 2,
    }


def _keyword_output(course: str, file: str, title: str, position: int, term: str) -> dict[str, Any]:
    """A keyword's columns as the pipeline outputs them."""
    return {
        "term": term,
        "definition": f"{term}, as {title.lower()} explains it",
        "is_primary": position == 0,
        "exam_relevant": position < 2,
        "embedding": embedding(course, file, term),
    }


def _concept_maps(connection: Connection, report: SeedReport, progress: Progress) -> None:
    progress("processed documents, chapters, keywords, relationships")
    completed = [(course, file) for course, file, status in DOCUMENTS if status == "completed"]
    processed = [
        {
            "processed_id": seed_id("processed", file),
            "document_id": _document(file),
            "course_id": _course(course),
            "concept_map": _concept_map(file),
            "pipeline_version": PIPELINE_VERSION,
            "subject": next(c.subject for c in COURSES if c.name == course),
            "embedding": embedding(course, file),
            "cache_key": connection.scalar(
                text("SELECT generate_cache_key(:sha, :version)"),
                {"sha": _sha256(file), "version": PIPELINE_VERSION},
            ),
        }
        for course, file in completed
    ]
    report.add("processed_documents", len(_insert(connection, ProcessedDocument, processed)))
    chapters: list[dict[str, Any]] = []
    complexities: list[dict[str, Any]] = []
    keywords: list[dict[str, Any]] = []
    for course, file in completed:
        for number, (title, level, score, terms) in enumerate(CHAPTERS[file], start=1):
            chapter_id = _chapter(file, number)
            chapters.append(
                {
                    "chapter_id": chapter_id,
                    "processed_id": seed_id("processed", file),
                    **_chapter_output(number, title, level, score, terms),
                }
            )
            complexities.append(
                {
                    "complexity_id": seed_id("complexity", file, str(number)),
                    "chapter_id": chapter_id,
                    "complexity_level": level,
                    "complexity_score": score,
                }
            )
            keywords.extend(
                {
                    "keyword_id": _keyword(file, term),
                    "chapter_id": chapter_id,
                    **_keyword_output(course, file, title, position, term),
                }
                for position, term in enumerate(terms)
            )
    report.add("chapters", len(_insert(connection, Chapter, chapters)))
    report.add("chapter_complexity", len(_insert(connection, ChapterComplexity, complexities)))
    report.add("keywords", len(_insert(connection, Keyword, keywords)))
    chapter_of = {
        (file, term): _chapter(file, number)
        for file, chapter_list in CHAPTERS.items()
        for number, (*_, terms) in enumerate(chapter_list, start=1)
        for term in terms
    }
    relationships = [
        {
            "relationship_id": seed_id("relationship", file, source, target),
            "chapter_id": chapter_of[(file, source)],
            "source_keyword_id": _keyword(file, source),
            "target_keyword_id": _keyword(file, target),
            "relationship_type": kind,
            "is_cross_chapter": chapter_of[(file, source)] != chapter_of[(file, target)],
            "strength": strength,
        }
        for file, source, target, kind, strength in RELATIONSHIPS
    ]
    report.add("relationships", len(_insert(connection, KeywordRelationship, relationships)))


def _feedback(connection: Connection, report: SeedReport, progress: Progress) -> None:
    progress("annotations and analogy feedback")
    annotations = [
        {
            "annotation_id": seed_id("annotation", who, course, kind.value, str(rating)),
            "user_id": _user(who),
            "course_id": _course(course),
            "feedback_type": kind,
            "rating": rating,
            "comment": comment,
            "metadata": {"source": "seed"},
        }
        for who, course, kind, rating, comment in ANNOTATIONS
    ]
    report.add("user_annotations", len(_insert(connection, UserAnnotation, annotations)))
    feedback = [
        {
            "feedback_id": seed_id("analogy-feedback", who, file, str(number)),
            "user_id": _user(who),
            "chapter_id": _chapter(file, number),
            "analogy_id": seed_id("analogy", analogy),
            "helpful": helpful,
            "comment": None if helpful else "did not help me",
        }
        for who, file, number, analogy, helpful in ANALOGY_FEEDBACK
    ]
    report.add("analogy_feedback", len(_insert(connection, AnalogyFeedback, feedback)))


def _course_of(file: str) -> str:
    return next(course for course, uploaded, _ in _uploads() if uploaded == file)


def _document_status(connection: Connection, file: str) -> str:
    return str(
        connection.scalar(
            select(CourseDocument.processing_status).where(
                CourseDocument.document_id == _document(file)
            )
        )
    )


def _shared_pdf_output() -> PipelineOutput:
    """What the pipeline made of the shared PDF: the same chapters, keywords and
    relationships as cells.pdf's concept map."""
    course = _course_of(SHARED_PDF)
    number_of = {
        term: number
        for number, (*_, terms) in enumerate(CHAPTERS[SHARED_PDF], start=1)
        for term in terms
    }
    chapters = [
        {
            **_chapter_output(number, title, level, score, terms),
            "keywords": [
                _keyword_output(course, SHARED_PDF, title, position, term)
                for position, term in enumerate(terms)
            ],
            "relationships": [
                {
                    "source": source,
                    "target": target,
                    "type": kind,
                    "strength": float(strength),
                    "target_chapter": number_of[target],
                }
                for file, source, target, kind, strength in RELATIONSHIPS
                if file == SHARED_PDF and number_of[source] == number
            ],
        }
        for number, (title, level, score, terms) in enumerate(CHAPTERS[SHARED_PDF], start=1)
    ]
    return PipelineOutput(
        concept_map=_concept_map(SHARED_PDF),
        chapters=chapters,
        subject=next(c.subject for c in COURSES if c.name == course),
        embedding=embedding(course, SHARED_PDF),
    )


def _worker_processing(connection: Connection, report: SeedReport, progress: Progress) -> None:
    """As the worker, through its protocol: the shared PDF processed once (its
    result stored), its other copies completed from that result without the
    pipeline, and the documents still processing claimed."""
    progress("the worker: the shared PDF's stored result, its copies, a claim in progress")
    output = _shared_pdf_output()
    chapters = CHAPTERS[SHARED_PDF]
    copy_rows = {
        "processed_documents": 1,
        "chapters": len(chapters),
        "chapter_complexity": len(chapters),
        "keywords": sum(len(terms) for *_, terms in chapters),
        "relationships": sum(1 for file, *_ in RELATIONSHIPS if file == SHARED_PDF),
    }
    # Only documents this run uploaded are still pending: a second run claims nothing.
    for _, file in SHARED_COPIES:
        if _document_status(connection, file) == ProcessingStatus.PENDING:
            claim = claim_document(connection, _document(file), SEED_WORKER, PIPELINE_VERSION)
            if claim.result_stored:
                complete_document_from_cache(connection, claim)
            else:
                record_pipeline_result(connection, claim, output)
                report.add("pipeline_results", 1)
            for table, count in copy_rows.items():
                report.add(table, count)
    for _, file, final in DOCUMENTS:
        if final == "processing" and _document_status(connection, file) == ProcessingStatus.PENDING:
            claim = claim_document(connection, _document(file), SEED_WORKER, PIPELINE_VERSION)
            report.add("document_claims", int(claim.outcome is ClaimOutcome.CLAIMED))


def _content_feedback(connection: Connection, report: SeedReport, progress: Progress) -> None:
    progress("three learners rating the shared PDF's concept map")
    processed_of: dict[uuid.UUID, uuid.UUID] = dict(
        connection.execute(
            select(ProcessedDocument.document_id, ProcessedDocument.processed_id).where(
                ProcessedDocument.document_id.in_(
                    [_document(file) for _, file, *_ in CONTENT_ANNOTATIONS]
                )
            )
        ).all()
    )
    rows = [
        {
            "annotation_id": seed_id("content-annotation", who, file),
            "user_id": _user(who),
            "course_id": _course(_course_of(file)),
            "processed_id": processed_of[_document(file)],
            "feedback_type": FeedbackType.CONCEPT_MAP,
            "rating": rating,
            "comment": comment,
            "metadata": {"source": "seed"},
        }
        for who, file, rating, comment in CONTENT_ANNOTATIONS
    ]
    report.add("user_annotations", len(_insert(connection, UserAnnotation, rows)))


def _progress(connection: Connection, report: SeedReport, progress: Progress) -> None:
    progress("progress, a streak and badges")
    rows = [
        {
            "progress_id": seed_id("progress", who, file, str(number)),
            "user_id": _user(who),
            "course_id": _course(next(c for c, f, _ in DOCUMENTS if f == file)),
            "chapter_id": _chapter(file, number),
            "completed": completed,
            "time_spent_seconds": seconds,
            "badges": list(badges),
        }
        for who, file, number, seconds, completed, badges in PROGRESS
    ]
    inserted = _insert(connection, UserProgress, rows)
    report.add("user_progress", len(inserted))
    who, file, number, current, longest = STREAK
    streak_row = seed_id("progress", who, file, str(number))
    if streak_row not in inserted:
        return
    # The streak trigger counts days of activity up to today. Rewind the
    # learner's history to "studied four days running, up to yesterday" (an
    # update that adds no study time, which the trigger ignores), then study
    # today: the trigger itself carries the streak to five.
    yesterday: date = connection.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date - 1"))
    connection.execute(
        update(UserProgress)
        .where(UserProgress.user_id == _user(who))
        .values(
            last_activity_date=yesterday - timedelta(days=1),
            current_streak_days=current - 2,
            longest_streak_days=longest,
        )
    )
    connection.execute(
        update(UserProgress)
        .where(UserProgress.progress_id == streak_row)
        .values(last_activity_date=yesterday, current_streak_days=current - 1)
    )
    connection.execute(
        update(UserProgress)
        .where(UserProgress.progress_id == streak_row)
        .values(time_spent_seconds=UserProgress.time_spent_seconds + 600)
    )
