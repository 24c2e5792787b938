from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pgvector.sqlalchemy import HALFVEC, Vector
from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint, cast, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    Base,
    concept_map_owner_column,
    departs_from_design,
    serves,
    stricter,
    uuid_primary_key,
)

if TYPE_CHECKING:
    from sensa_db.models.chapter import Chapter
    from sensa_db.models.course import Course
    from sensa_db.models.course_document import CourseDocument

EMBEDDING_DIMENSIONS = 768

# The design's HNSW parameters for both embedding indexes.
HNSW_OPTIONS: dict[str, Any] = {
    "postgresql_using": "hnsw",
    "postgresql_with": {"m": 16, "ef_construction": 64},
    "postgresql_ops": {"embedding": "vector_cosine_ops"},
}

HALF_PRECISION_INDEX = (
    "the design's HNSW index over vector(768) is built over embedding::halfvec(768)"
    " (halfvec_cosine_ops, the same m and ef_construction, the design's name): on 29,900 real"
    " embeddings each index is half the size, its recall@10 within 0.001 of the vector one's;"
    " the similarity searches order by that expression to pick candidates and rank them by the"
    " full-precision distance"
)


def half_precision_hnsw_index(name: str, embedding: Any) -> Index:
    """The HNSW index over ``embedding`` cast to halfvec(768) (HALF_PRECISION_INDEX)."""
    return Index(
        name,
        cast(embedding, HALFVEC(EMBEDDING_DIMENSIONS)).label("embedding"),
        postgresql_using="hnsw",
        postgresql_with=HNSW_OPTIONS["postgresql_with"],
        postgresql_ops={"embedding": "halfvec_cosine_ops"},
        info=departs_from_design(HALF_PRECISION_INDEX),
    )


SHARED_RESULT = (
    "the design's UNIQUE (cache_key) allowed one processed document per PDF content and"
    " pipeline version in the whole database, so a second learner uploading the same PDF"
    " (or one learner putting it in two courses) could never get a concept map: the"
    " uniqueness moved to pipeline_results.cache_key (the result stored once), and each"
    " document gets its own processed document (unique_doc_processing) carrying the key"
)


class ProcessedDocument(Base):
    """The pipeline's result for one document: its concept map and embedding.

    Each document gets its own row (``unique_doc_processing``), made from the
    result stored once per content and pipeline version in ``pipeline_results``;
    ``cache_key`` says which, and is indexed but not unique (SHARED_RESULT).
    """

    __tablename__ = "processed_documents"

    processed_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = concept_map_owner_column()
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("course_documents.document_id", ondelete="CASCADE"),
        info=stricter(NOT_NULL_OWNER),
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    concept_map: Mapped[dict[str, Any]] = mapped_column(JSONB)
    pipeline_version: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(100))
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), info=stricter(NOT_NULL_DEFAULT)
    )
    # Not unique, unlike the design (SHARED_RESULT).
    cache_key: Mapped[str | None] = mapped_column(String(255))

    document: Mapped[CourseDocument] = relationship(back_populates="processed_document")
    course: Mapped[Course] = relationship(back_populates="processed_documents")
    chapters: Mapped[list[Chapter]] = relationship(
        back_populates="processed_document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Chapter.chapter_number",
    )

    __table_args__ = (
        Index(
            "idx_processed_docs_cache_key",
            "cache_key",
            info=serves("the processed documents made from one stored pipeline result"),
        ),
        Index(
            "idx_processed_documents_user_id",
            "user_id",
            info=serves("row-level security: every learner policy is user_id = <request context>"),
        ),
        UniqueConstraint("document_id", name=conv("unique_doc_processing")),
        half_precision_hnsw_index("idx_processed_docs_embedding", embedding),
        Index(
            "idx_processed_docs_course_id",
            "course_id",
            postgresql_include=["processed_id", "user_id"],
            info=serves(
                "a course's processed documents (get_course_stats, course deletion); with"
                " processed_id and user_id carried, an index-only scan for a learner"
            ),
        ),
        Index(
            "idx_processed_docs_concept_map",
            "concept_map",
            postgresql_using="gin",
            postgresql_ops={"concept_map": "jsonb_path_ops"},
            info=serves("concept-map containment queries (concept_map @> '{\"concepts\": [...]}')"),
        ),
        {
            "info": departs_from_design(
                SHARED_RESULT, dropping=("processed_documents_cache_key_key",)
            )
        },
    )
