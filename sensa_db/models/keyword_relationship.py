from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import (
    NOT_NULL_OWNER,
    Base,
    CreatedAtMixin,
    bool_column,
    concept_map_owner_column,
    serves,
    stricter,
    uuid_primary_key,
)

if TYPE_CHECKING:
    from sensa_db.models.chapter import Chapter
    from sensa_db.models.keyword import Keyword


class KeywordRelationship(CreatedAtMixin, Base):
    """An edge of the concept map between two keywords, possibly across chapters.

    The table is the design's ``relationships``; the class name avoids a clash
    with SQLAlchemy's ``relationship()``.
    """

    __tablename__ = "relationships"

    relationship_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = concept_map_owner_column()
    chapter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chapters.chapter_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    source_keyword_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("keywords.keyword_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    target_keyword_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("keywords.keyword_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    relationship_type: Mapped[str] = mapped_column(String(100))
    is_cross_chapter: Mapped[bool] = bool_column(default=False)
    strength: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))

    chapter: Mapped[Chapter] = relationship(back_populates="relationships")
    source_keyword: Mapped[Keyword] = relationship(
        back_populates="outgoing_relationships", foreign_keys=[source_keyword_id]
    )
    target_keyword: Mapped[Keyword] = relationship(
        back_populates="incoming_relationships", foreign_keys=[target_keyword_id]
    )

    __table_args__ = (
        Index(
            "idx_relationships_user_id",
            "user_id",
            info=serves("row-level security: every learner policy is user_id = <request context>"),
        ),
        CheckConstraint("strength BETWEEN 0 AND 1", name="strength"),
        CheckConstraint("source_keyword_id != target_keyword_id", name=conv("no_self_reference")),
        Index("idx_relationships_chapter_id", "chapter_id"),
        Index("idx_relationships_source", "source_keyword_id"),
        Index("idx_relationships_target", "target_keyword_id"),
        Index(
            "idx_relationships_cross_chapter",
            "is_cross_chapter",
            postgresql_where=text("is_cross_chapter = true"),
        ),
    )
