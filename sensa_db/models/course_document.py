from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CHAR,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    NOT_NULL_OWNER,
    OWNER_IN_JOIN_INDEX,
    Base,
    concept_map_owner_column,
    departs_from_design,
    serves,
    stricter,
    uuid_primary_key,
)
from sensa_db.models.enums import ProcessingStatus, processing_status_enum

if TYPE_CHECKING:
    from sensa_db.models.course import Course
    from sensa_db.models.processed_document import ProcessedDocument


class CourseDocument(Base):
    """An uploaded PDF and where it stands in the processing pipeline."""

    __tablename__ = "course_documents"

    document_id: Mapped[uuid.UUID] = uuid_primary_key()
    user_id: Mapped[uuid.UUID] = concept_map_owner_column()
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), info=stricter(NOT_NULL_OWNER)
    )
    filename: Mapped[str] = mapped_column(String(500))
    original_filename: Mapped[str] = mapped_column(String(500))
    s3_key: Mapped[str] = mapped_column(String(1000))
    s3_bucket: Mapped[str] = mapped_column(String(255))
    sha256_hash: Mapped[str] = mapped_column(CHAR(64))
    file_size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(100))
    page_count: Mapped[int | None]
    upload_date: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        server_default=func.now(),
        info=stricter(NOT_NULL_DEFAULT),
    )
    processing_status: Mapped[ProcessingStatus] = mapped_column(
        processing_status_enum, server_default=text("'pending'"), info=stricter(NOT_NULL_DEFAULT)
    )
    task_id: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    course: Mapped[Course] = relationship(back_populates="documents")
    processed_document: Mapped[ProcessedDocument | None] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index(
            "idx_course_documents_user_id",
            "user_id",
            info=serves("row-level security: every learner policy is user_id = <request context>"),
        ),
        UniqueConstraint("course_id", "sha256_hash", name=conv("unique_hash_per_course")),
        # Not in the design: a hash that is not 64 lowercase hex digits can never
        # match find_duplicate_document(), so it is refused at the door.
        CheckConstraint("sha256_hash ~ '^[0-9a-f]{64}$'", name="sha256_hash_hex"),
        CheckConstraint("file_size >= 0", name="file_size_non_negative"),
        CheckConstraint("page_count >= 0", name="page_count_non_negative"),
        Index(
            "idx_documents_course_id",
            "course_id",
            postgresql_include=["processing_status", "user_id"],
            info=departs_from_design(OWNER_IN_JOIN_INDEX),
        ),
        Index("idx_documents_status", "processing_status"),
        Index("idx_documents_hash", "sha256_hash"),
        Index("idx_documents_upload_date", text("upload_date DESC")),
        Index(
            "idx_documents_task_id",
            "task_id",
            postgresql_where=text("task_id IS NOT NULL"),
            info=serves("the worker finding its document by pipeline task id"),
        ),
    )
