from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from geoalchemy2 import Geography
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    Base,
    TimestampsMixin,
    beyond_design,
    serves,
    stricter,
    uuid_primary_key,
)
from sensa_db.models.enums import LearningStyle, learning_style_enum

if TYPE_CHECKING:
    from sensa_db.models.user import User


class UserProfile(TimestampsMixin, Base):
    """Personalisation inputs for analogies: age range, place, interests, learning style."""

    __tablename__ = "user_profiles"

    profile_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    age_range: Mapped[str | None] = mapped_column(String(20))
    location: Mapped[str | None] = mapped_column(String(100))
    # Beside the design's free-text location: a point for distance queries
    # (learners near a place, regional analogies). Not in the design.
    location_point: Mapped[Any | None] = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False),
        info=beyond_design("a point for distance queries beside the free-text location"),
    )
    interests: Mapped[list[str]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"), info=stricter(NOT_NULL_DEFAULT)
    )
    learning_style: Mapped[LearningStyle | None] = mapped_column(learning_style_enum)

    user: Mapped[User] = relationship(back_populates="profile")

    __table_args__ = (
        UniqueConstraint("user_id", name=conv("unique_user_profile")),
        Index(
            "idx_user_profiles_interests",
            "interests",
            postgresql_using="gin",
            info=serves("learners interested in a topic (interests ? 'biology')"),
        ),
        Index(
            "idx_user_profiles_location_point",
            "location_point",
            postgresql_using="gist",
            info=serves("learners within a distance of a point (ST_DWithin)"),
        ),
    )
