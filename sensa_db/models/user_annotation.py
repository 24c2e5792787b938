from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    Base,
    bool_column,
    serves,
    stricter,
    uuid_primary_key,
)
from sensa_db.models.enums import FeedbackType, feedback_type_enum

if TYPE_CHECKING:
    from sensa_db.models.course import Course
    from sensa_db.models.user import User


class UserAnnotation(Base):
    """A learner's rating or comment on a course's processing, concept map or analogies."""

    __tablename__ = "user_annotations"

    annotation_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    feedback_type: Mapped[FeedbackType] = mapped_column(feedback_type_enum)
    rating: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    submitted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), info=stricter(NOT_NULL_DEFAULT)
    )
    processed: Mapped[bool] = bool_column(default=False)
    consensus_count: Mapped[int] = mapped_column(
        server_default=text("1"), info=stricter(NOT_NULL_DEFAULT)
    )

    user: Mapped[User] = relationship(back_populates="annotations")
    course: Mapped[Course] = relationship(back_populates="annotations")

    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint("consensus_count >= 1", name="consensus_count_positive"),
        Index("idx_annotations_user_id", "user_id"),
        Index("idx_annotations_course_id", "course_id"),
        Index("idx_annotations_type", "feedback_type"),
        Index(
            "idx_annotations_unprocessed", "processed", postgresql_where=text("processed = false")
        ),
        Index(
            "idx_annotations_consensus",
            "course_id",
            "feedback_type",
            "rating",
            postgresql_where=text("processed = false"),
            info=serves("the consensus lookup, same (course, type, rating) among unprocessed rows"),
        ),
    )
