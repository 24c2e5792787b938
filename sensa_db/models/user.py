from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    Base,
    TimestampsMixin,
    bool_column,
    stricter,
    uuid_primary_key,
)
from sensa_db.models.enums import UserRole, user_role

if TYPE_CHECKING:
    from sensa_db.models.analogy_feedback import AnalogyFeedback
    from sensa_db.models.course import Course
    from sensa_db.models.user_annotation import UserAnnotation
    from sensa_db.models.user_profile import UserProfile
    from sensa_db.models.user_progress import UserProgress


class User(TimestampsMixin, Base):
    """A learner or staff member, identified by their Cognito subject."""

    __tablename__ = "users"

    user_id: Mapped[uuid.UUID] = uuid_primary_key()
    cognito_sub: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    email_verified: Mapped[bool] = bool_column(default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_active: Mapped[bool] = bool_column(default=True)
    role: Mapped[UserRole] = mapped_column(
        user_role, server_default=text("'user'"), info=stricter(NOT_NULL_DEFAULT)
    )

    profile: Mapped[UserProfile | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    courses: Mapped[list[Course]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    annotations: Mapped[list[UserAnnotation]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    analogy_feedback: Mapped[list[AnalogyFeedback]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    progress: Mapped[list[UserProgress]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        # Both duplicate the UNIQUE constraints' own indexes; the design names
        # them, so they stay until a revision retires them (docs/SCHEMA.md).
        Index("idx_users_cognito_sub", "cognito_sub"),
        Index("idx_users_email", "email"),
        Index("idx_users_active", "is_active", postgresql_where=text("is_active = true")),
    )
