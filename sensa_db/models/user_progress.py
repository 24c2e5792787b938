from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    Base,
    bool_column,
    serves,
    stricter,
    uuid_primary_key,
)

if TYPE_CHECKING:
    from sensa_db.models.chapter import Chapter
    from sensa_db.models.course import Course
    from sensa_db.models.user import User


def _counter() -> Mapped[int]:
    return mapped_column(server_default=text("0"), info=stricter(NOT_NULL_DEFAULT))


class UserProgress(Base):
    """A learner's progress on one chapter: completion, time spent, streak and badges."""

    __tablename__ = "user_progress"

    progress_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    chapter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chapters.chapter_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    completed: Mapped[bool] = bool_column(default=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    time_spent_seconds: Mapped[int] = _counter()
    current_streak_days: Mapped[int] = _counter()
    longest_streak_days: Mapped[int] = _counter()
    last_activity_date: Mapped[date | None]
    badges: Mapped[list[Any]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"), info=stricter(NOT_NULL_DEFAULT)
    )

    user: Mapped[User] = relationship(back_populates="progress")
    course: Mapped[Course] = relationship(back_populates="progress")
    chapter: Mapped[Chapter] = relationship(back_populates="progress")

    __table_args__ = (
        UniqueConstraint("user_id", "chapter_id", name=conv("unique_user_chapter_progress")),
        CheckConstraint("time_spent_seconds >= 0", name="time_spent_seconds_non_negative"),
        CheckConstraint(
            "current_streak_days >= 0 AND current_streak_days <= longest_streak_days",
            name="streak_within_longest",
        ),
        CheckConstraint("jsonb_typeof(badges) = 'array'", name="badges_is_array"),
        Index("idx_progress_user_id", "user_id"),
        Index("idx_progress_course_id", "course_id"),
        Index("idx_progress_completed", "completed", postgresql_where=text("completed = true")),
        Index("idx_progress_activity_date", text("last_activity_date DESC")),
        # unique_user_chapter_progress leads with user_id, so it cannot serve this.
        Index(
            "idx_progress_chapter_id",
            "chapter_id",
            info=serves("cascading a chapter's deletion, a chapter's learners"),
        ),
        Index(
            "idx_progress_user_activity",
            "user_id",
            text("last_activity_date DESC"),
            info=serves("a learner's latest activity (streak computation, summaries)"),
        ),
        Index(
            "idx_progress_badges",
            "badges",
            postgresql_using="gin",
            info=serves("learners holding a badge (badges @> '[\"first_week\"]')"),
        ),
    )
