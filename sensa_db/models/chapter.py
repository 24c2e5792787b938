from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import (
    NOT_NULL_OWNER,
    OWNER_IN_JOIN_INDEX,
    Base,
    CreatedAtMixin,
    concept_map_owner_column,
    departs_from_design,
    serves,
    stricter,
    uuid_primary_key,
)
from sensa_db.models.enums import ComplexityLevel, complexity_level_enum

if TYPE_CHECKING:
    from sensa_db.models.analogy_feedback import AnalogyFeedback
    from sensa_db.models.chapter_complexity import ChapterComplexity
    from sensa_db.models.keyword import Keyword
    from sensa_db.models.keyword_relationship import KeywordRelationship
    from sensa_db.models.processed_document import ProcessedDocument
    from sensa_db.models.user_progress import UserProgress


class Chapter(CreatedAtMixin, Base):
    """A chapter of a processed document, with its exam relevance and complexity."""

    __tablename__ = "chapters"

    chapter_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = concept_map_owner_column()
    processed_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("processed_documents.processed_id", ondelete="CASCADE"),
        info=stricter(NOT_NULL_OWNER),
    )
    chapter_number: Mapped[int]
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(Text)
    exam_relevance_score: Mapped[int | None]
    complexity_score: Mapped[int | None]
    complexity_level: Mapped[ComplexityLevel | None] = mapped_column(complexity_level_enum)
    estimated_time_minutes: Mapped[int | None]

    processed_document: Mapped[ProcessedDocument] = relationship(back_populates="chapters")
    keywords: Mapped[list[Keyword]] = relationship(
        back_populates="chapter", cascade="all, delete-orphan", passive_deletes=True
    )
    relationships: Mapped[list[KeywordRelationship]] = relationship(
        back_populates="chapter", cascade="all, delete-orphan", passive_deletes=True
    )
    progress: Mapped[list[UserProgress]] = relationship(
        back_populates="chapter", cascade="all, delete-orphan", passive_deletes=True
    )
    analogy_feedback: Mapped[list[AnalogyFeedback]] = relationship(
        back_populates="chapter", cascade="all, delete-orphan", passive_deletes=True
    )
    complexity: Mapped[ChapterComplexity | None] = relationship(
        back_populates="chapter", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index(
            "idx_chapters_user_id",
            "user_id",
            info=serves("row-level security: every learner policy is user_id = <request context>"),
        ),
        UniqueConstraint("processed_id", "chapter_number", name=conv("unique_chapter_per_doc")),
        CheckConstraint("exam_relevance_score BETWEEN 0 AND 100", name="exam_relevance_score"),
        CheckConstraint("complexity_score BETWEEN 0 AND 100", name="complexity_score"),
        CheckConstraint("estimated_time_minutes >= 0", name="estimated_time_minutes_non_negative"),
        Index(
            "idx_chapters_processed_id",
            "processed_id",
            postgresql_include=["chapter_id", "user_id"],
            info=departs_from_design(OWNER_IN_JOIN_INDEX),
        ),
        Index("idx_chapters_number", "chapter_number"),
    )
