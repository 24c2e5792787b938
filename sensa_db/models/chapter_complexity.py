from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    Base,
    concept_map_owner_column,
    serves,
    stricter,
    uuid_primary_key,
)
from sensa_db.models.enums import ComplexityLevel, complexity_level_enum

if TYPE_CHECKING:
    from sensa_db.models.chapter import Chapter


class ChapterComplexity(Base):
    """The pipeline's latest complexity assessment of a chapter."""

    __tablename__ = "chapter_complexity"

    complexity_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = concept_map_owner_column()
    chapter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chapters.chapter_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    complexity_level: Mapped[ComplexityLevel] = mapped_column(complexity_level_enum)
    complexity_score: Mapped[int | None]
    calculated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), info=stricter(NOT_NULL_DEFAULT)
    )

    chapter: Mapped[Chapter] = relationship(back_populates="complexity")

    __table_args__ = (
        Index(
            "idx_chapter_complexity_user_id",
            "user_id",
            info=serves("row-level security: every learner policy is user_id = <request context>"),
        ),
        UniqueConstraint("chapter_id", name=conv("unique_chapter_complexity")),
        CheckConstraint("complexity_score BETWEEN 0 AND 100", name="complexity_score"),
    )
