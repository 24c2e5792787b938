from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    Base,
    serves,
    stricter,
    uuid_primary_key,
)

if TYPE_CHECKING:
    from sensa_db.models.chapter import Chapter
    from sensa_db.models.user import User


class AnalogyFeedback(Base):
    """Whether a personal analogy for a chapter helped the learner."""

    __tablename__ = "analogy_feedback"

    feedback_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    chapter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chapters.chapter_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    analogy_id: Mapped[uuid.UUID]
    helpful: Mapped[bool]
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), info=stricter(NOT_NULL_DEFAULT)
    )

    user: Mapped[User] = relationship(back_populates="analogy_feedback")
    chapter: Mapped[Chapter] = relationship(back_populates="analogy_feedback")

    __table_args__ = (
        # The design indexes neither foreign key.
        Index(
            "idx_analogy_feedback_user_id",
            "user_id",
            info=serves(
                "a learner's own feedback; row-level security; cascading a user's deletion"
            ),
        ),
        Index(
            "idx_analogy_feedback_chapter_id",
            "chapter_id",
            info=serves("a chapter's analogy helpfulness; cascading a chapter's deletion"),
        ),
        Index(
            "idx_analogy_feedback_analogy_id",
            "analogy_id",
            info=serves("the helpfulness of one analogy across learners"),
        ),
    )
