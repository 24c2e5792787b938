from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from sensa_db.models.base import Base, beyond_design, serves


class AuditLog(Base):
    """One row per change to a learner-owned row, written by the record_audit() trigger.

    Not in the design's 13 tables (its security section asks for DML to be
    logged). Append-only: the reject_audit_log_change() trigger refuses UPDATE,
    DELETE and TRUNCATE whatever the grants, so the application cannot rewrite
    its own history. There is no foreign key to the audited row or to users:
    the record must outlive them.
    """

    __tablename__ = "audit_log"

    audit_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    table_name: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(Text)
    # Every audited table has a single uuid primary key.
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    old_row: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new_row: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The learner the application acted for (app.current_user_id), if it said.
    acting_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The database role that made the change (login or SET ROLE).
    database_role: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("operation IN ('INSERT', 'UPDATE', 'DELETE')", name="operation"),
        CheckConstraint(
            "(operation = 'INSERT' AND old_row IS NULL AND new_row IS NOT NULL)"
            " OR (operation = 'UPDATE' AND old_row IS NOT NULL AND new_row IS NOT NULL)"
            " OR (operation = 'DELETE' AND old_row IS NOT NULL AND new_row IS NULL)",
            name="rows_match_operation",
        ),
        Index(
            "idx_audit_log_record",
            "table_name",
            "record_id",
            "occurred_at",
            info=serves("the history of one row (table_name, record_id), in order"),
        ),
        Index(
            "idx_audit_log_acting_user",
            "acting_user_id",
            "occurred_at",
            postgresql_where=text("acting_user_id IS NOT NULL"),
            info=serves("everything done on behalf of one learner, in order"),
        ),
        Index(
            "idx_audit_log_occurred_at",
            "occurred_at",
            postgresql_using="brin",
            info=serves("changes in a time window; rows arrive in time order, so BRIN stays tiny"),
        ),
        {"info": beyond_design("the design's security section asks for data changes to be logged")},
    )
