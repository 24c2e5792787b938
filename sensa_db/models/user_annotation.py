from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    Base,
    beyond_design,
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
    """A learner's rating or comment on a course's processing, concept map or analogies.

    Not in the design: ``processed_id`` and ``cache_key``. A learner rating what the
    pipeline made of one of their documents names its processed document; the
    stamp_annotation_cache_key() trigger copies that document's ``cache_key`` (the
    content and pipeline version rated), which the learner cannot write. Courses
    are private, so the design's per-course consensus can never gather three
    learners; get_content_consensus() counts distinct learners per
    (cache_key, feedback_type, rating) for the worker and staff. ``consensus_count``
    keeps the design's per-course meaning: writing the cross-learner count on a
    learner's own row would tell them that others uploaded the same PDF.
    """

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
    # The rating stays about that content if the processed document is deleted.
    processed_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("processed_documents.processed_id", ondelete="SET NULL"),
        info=beyond_design("the processed document a rating is about"),
    )
    # Written by the trigger, never by the ORM: FetchedValue reads it back.
    cache_key: Mapped[str | None] = mapped_column(
        String(255),
        server_default=FetchedValue(),
        server_onupdate=FetchedValue(),
        info=beyond_design("the content a rating is about, for consensus across learners"),
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
        Index(
            "idx_annotations_processed_id",
            "processed_id",
            info=serves("a processed document's ratings; SET NULL when it is deleted"),
        ),
        Index(
            "idx_annotations_content_consensus",
            "cache_key",
            "feedback_type",
            "rating",
            postgresql_where=text("processed = false AND cache_key IS NOT NULL"),
            info=serves(
                "get_content_consensus(), same (cache_key, type, rating) among unprocessed rows"
            ),
        ),
    )
