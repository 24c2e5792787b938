from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from sensa_db.models.base import Base, beyond_design


class DocumentClaim(Base):
    """A worker's lease on a document it is processing (at most one per document).

    Not in the design. The queue delivers a task at least once and two workers
    may receive the same one: ``claim_document()`` gives the document to one of
    them under a lease, and only the holder of ``claim_token`` may record the
    result or the failure (``record_pipeline_result()``,
    ``complete_document_from_cache()``, ``record_processing_failure()``), which
    also delete the claim. A worker that dies leaves its claim to expire at
    ``lease_expires_at``; the next claim takes the document over with a new token,
    so the dead worker's late answer is refused. Worker bookkeeping with no
    learner's data: no row-level security (``sensa_db/security.py``).
    """

    __tablename__ = "document_claims"

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("course_documents.document_id", ondelete="CASCADE"), primary_key=True
    )
    claim_token: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), server_default=func.gen_random_uuid()
    )
    worker_id: Mapped[str] = mapped_column(String(255))
    pipeline_version: Mapped[str] = mapped_column(String(20))
    cache_key: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lease_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # How many claims the document has had in this processing attempt: more
    # than 1 means a worker's lease expired before it answered.
    attempts: Mapped[int] = mapped_column(server_default=text("1"))

    __table_args__ = (
        CheckConstraint("btrim(worker_id) <> ''", name="worker_id_not_blank"),
        CheckConstraint("btrim(pipeline_version) <> ''", name="pipeline_version_not_blank"),
        CheckConstraint("lease_expires_at > claimed_at", name="lease_in_future"),
        CheckConstraint("attempts >= 1", name="attempts_positive"),
        {"info": beyond_design("a worker's lease, so that one worker records a document's result")},
    )
