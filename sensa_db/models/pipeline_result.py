from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import CHAR, CheckConstraint, DateTime, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import Base, beyond_design, uuid_primary_key
from sensa_db.models.processed_document import EMBEDDING_DIMENSIONS


class PipelineResult(Base):
    """What the pipeline made of one PDF's content under one pipeline version, stored once.

    Not in the design. The design made ``processed_documents.cache_key`` UNIQUE so
    that a PDF's content is processed once per pipeline version; but a processed
    document belongs to one learner's document, so the second learner to upload
    the same PDF could never get a concept map of their own. The uniqueness lives
    here instead (``unique_pipeline_result_cache_key``): one stored result per
    content and version, from which every document with that content gets its own
    processed document, chapters, keywords, relationships and complexity
    (``materialize_pipeline_result()``), without running the pipeline again.

    Readable by the worker and staff only: a learner who could look a cache key up
    here would learn that someone else uploaded that PDF. It holds no learner's
    identity, so it has no row-level security (``sensa_db/security.py``).

    ``chapters`` is the pipeline's output below the document, as JSON: an array of
    chapters (``chapter_number``, ``title``, ``summary``, ``exam_relevance_score``,
    ``complexity_score``, ``complexity_level``, ``estimated_time_minutes``,
    ``keywords`` and ``relationships``); docs/BEHAVIOUR.md shows its shape.
    """

    __tablename__ = "pipeline_results"

    result_id: Mapped[uuid.UUID] = uuid_primary_key()
    cache_key: Mapped[str] = mapped_column(String(255))
    sha256_hash: Mapped[str] = mapped_column(CHAR(64))
    pipeline_version: Mapped[str] = mapped_column(String(20))
    concept_map: Mapped[dict[str, Any]] = mapped_column(JSONB)
    subject: Mapped[str | None] = mapped_column(String(100))
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    chapters: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("cache_key", name=conv("unique_pipeline_result_cache_key")),
        CheckConstraint("sha256_hash ~ '^[0-9a-f]{64}$'", name="sha256_hash_hex"),
        CheckConstraint("btrim(pipeline_version) <> ''", name="pipeline_version_not_blank"),
        # generate_cache_key()'s format, so that a lookup by key finds this row.
        CheckConstraint(
            "cache_key = sha256_hash || ':' || pipeline_version", name="cache_key_of_content"
        ),
        CheckConstraint("jsonb_typeof(concept_map) = 'object'", name="concept_map_object"),
        CheckConstraint("jsonb_typeof(chapters) = 'array'", name="chapters_array"),
        {"info": beyond_design("the pipeline's result stored once per content and version")},
    )
