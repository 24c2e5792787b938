"""Builds a learner's whole object graph through the ORM, one row in every table."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sensa_db.models import (
    AnalogyFeedback,
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
    User,
    UserAnnotation,
    UserProfile,
    UserProgress,
)

EMBEDDING = [0.1] * 768


def sha256_of(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


@dataclass
class LearnerGraph:
    user: User
    profile: UserProfile
    course: Course
    document: CourseDocument
    processed: ProcessedDocument
    chapter: Chapter
    keywords: tuple[Keyword, Keyword]
    relationship: KeywordRelationship
    annotation: UserAnnotation
    analogy_feedback: AnalogyFeedback
    progress: UserProgress
    complexity: ChapterComplexity


def make_user(session: Session, user_id: uuid.UUID | None = None) -> User:
    """A user; pass ``user_id`` to sign up as the learner a session's context names."""
    tag = uuid.uuid4().hex[:10]
    user = User(cognito_sub=f"cognito-{tag}", email=f"learner-{tag}@example.com")
    if user_id is not None:
        user.user_id = user_id
    session.add(user)
    session.flush()
    return user


def make_course(session: Session, user: User, name: str = "Cell Biology") -> Course:
    course = Course(user=user, name=name, subject="biology")
    session.add(course)
    session.flush()
    return course


def make_document(session: Session, course: Course, content: str = "chapter one") -> CourseDocument:
    document = CourseDocument(
        course=course,
        filename=f"{uuid.uuid4().hex}.pdf",
        original_filename="cells.pdf",
        s3_key=f"uploads/{uuid.uuid4().hex}.pdf",
        s3_bucket="sensa-uploads",
        sha256_hash=sha256_of(content),
        file_size=len(content),
        mime_type="application/pdf",
        page_count=12,
    )
    session.add(document)
    session.flush()
    return document


def make_learner_graph(session: Session, user_id: uuid.UUID | None = None) -> LearnerGraph:
    user = make_user(session, user_id)
    profile = UserProfile(
        user=user, interests=["football", "cooking"], learning_style=LearningStyle.VISUAL
    )
    session.add(profile)
    course = make_course(session, user)
    document = make_document(session, course)
    processed = ProcessedDocument(
        document=document,
        course=course,
        concept_map={"concepts": [{"name": "mitochondria"}]},
        pipeline_version="1.4.0",
        embedding=EMBEDDING,
        cache_key=f"cache-{uuid.uuid4().hex}",
    )
    chapter = Chapter(
        processed_document=processed,
        chapter_number=1,
        title="The cell",
        exam_relevance_score=80,
        complexity_score=40,
        complexity_level=ComplexityLevel.MEDIUM,
    )
    source = Keyword(
        chapter=chapter, term="mitochondria", definition="powerhouse", embedding=EMBEDDING
    )
    target = Keyword(chapter=chapter, term="ATP", definition="energy currency")
    relationship = KeywordRelationship(
        chapter=chapter, source_keyword=source, target_keyword=target, relationship_type="produces"
    )
    annotation = UserAnnotation(
        user=user, course=course, feedback_type=FeedbackType.GENERAL, rating=4
    )
    analogy_feedback = AnalogyFeedback(
        user=user, chapter=chapter, analogy_id=uuid.uuid4(), helpful=True
    )
    progress = UserProgress(user=user, course=course, chapter=chapter)
    complexity = ChapterComplexity(
        chapter=chapter, complexity_level=ComplexityLevel.MEDIUM, complexity_score=40
    )
    session.add_all(
        [profile, processed, relationship, annotation, analogy_feedback, progress, complexity]
    )
    session.flush()
    return LearnerGraph(
        user=user,
        profile=profile,
        course=course,
        document=document,
        processed=processed,
        chapter=chapter,
        keywords=(source, target),
        relationship=relationship,
        annotation=annotation,
        analogy_feedback=analogy_feedback,
        progress=progress,
        complexity=complexity,
    )
