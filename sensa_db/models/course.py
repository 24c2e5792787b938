from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sensa_db.models.base import (
    NOT_NULL_OWNER,
    Base,
    TimestampsMixin,
    bool_column,
    serves,
    stricter,
    uuid_primary_key,
)

if TYPE_CHECKING:
    from sensa_db.models.course_document import CourseDocument
    from sensa_db.models.processed_document import ProcessedDocument
    from sensa_db.models.user import User
    from sensa_db.models.user_annotation import UserAnnotation
    from sensa_db.models.user_progress import UserProgress


class Course(TimestampsMixin, Base):
    """A learner's course: the folder their uploaded PDFs belong to."""

    __tablename__ = "courses"

    course_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(100))
    is_archived: Mapped[bool] = bool_column(default=False)

    user: Mapped[User] = relationship(back_populates="courses")
    documents: Mapped[list[CourseDocument]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )
    processed_documents: Mapped[list[ProcessedDocument]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )
    annotations: Mapped[list[UserAnnotation]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )
    progress: Mapped[list[UserProgress]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("idx_courses_user_id", "user_id"),
        Index("idx_courses_created_at", text("created_at DESC")),
        Index("idx_courses_archived", "is_archived", postgresql_where=text("is_archived = false")),
        Index(
            "idx_courses_user_active_recent",
            "user_id",
            text("created_at DESC"),
            postgresql_where=text("is_archived = false"),
            info=serves("a learner's active courses, newest first (the dashboard)"),
        ),
        Index(
            "idx_courses_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
            info=serves("search_courses(), typo-tolerant trigram matching on the name"),
        ),
    )
