from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sensa_db.models.base import (
    NOT_NULL_OWNER,
    Base,
    CreatedAtMixin,
    bool_column,
    concept_map_owner_column,
    departs_from_design,
    serves,
    stricter,
    uuid_primary_key,
)
from sensa_db.models.processed_document import EMBEDDING_DIMENSIONS, half_precision_hnsw_index

if TYPE_CHECKING:
    from sensa_db.models.chapter import Chapter
    from sensa_db.models.keyword_relationship import KeywordRelationship

OWNER_KEYED_IN_KEYWORD_INDEX = (
    "the design's index on chapter_id also has user_id as its second key: a course's keywords"
    " are read from their rows (the embedding), where a column carried by INCLUDE filters"
    " nothing, so the planner ANDed a bitmap of all the learner's keywords into every chapter's"
    " lookup for row-level security's user_id; as a key it is part of the index condition"
)


class Keyword(CreatedAtMixin, Base):
    """A term of a chapter's concept map, with its definition and embedding."""

    __tablename__ = "keywords"

    keyword_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = concept_map_owner_column()
    chapter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chapters.chapter_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    term: Mapped[str] = mapped_column(String(255))
    definition: Mapped[str] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)
    is_primary: Mapped[bool] = bool_column(default=False)
    exam_relevant: Mapped[bool] = bool_column(default=False)
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))

    chapter: Mapped[Chapter] = relationship(back_populates="keywords")
    outgoing_relationships: Mapped[list[KeywordRelationship]] = relationship(
        back_populates="source_keyword",
        foreign_keys="KeywordRelationship.source_keyword_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    incoming_relationships: Mapped[list[KeywordRelationship]] = relationship(
        back_populates="target_keyword",
        foreign_keys="KeywordRelationship.target_keyword_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        Index(
            "idx_keywords_user_id",
            "user_id",
            info=serves("row-level security: every learner policy is user_id = <request context>"),
        ),
        Index(
            "idx_keywords_chapter_id",
            "chapter_id",
            "user_id",
            info=departs_from_design(OWNER_KEYED_IN_KEYWORD_INDEX),
        ),
        Index("idx_keywords_term", "term"),
        Index("idx_keywords_primary", "is_primary", postgresql_where=text("is_primary = true")),
        half_precision_hnsw_index("idx_keywords_embedding", embedding),
        Index(
            "idx_keywords_term_trgm",
            "term",
            postgresql_using="gin",
            postgresql_ops={"term": "gin_trgm_ops"},
            info=serves("search_keywords(), typo-tolerant trigram matching on the term"),
        ),
    )
