from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from sensa_db.models.base import (
    NOT_NULL_DEFAULT,
    Base,
    beyond_design,
    departs_from_design,
    stricter,
)

EVENT_LOG = (
    "an append-only log of events (an upgrade, downgrade and upgrade again of one revision"
    " is three rows) instead of one row per applied file: revision and direction are added"
    " and filename is no longer UNIQUE (revision a6f7b47487af)"
)


class MigrationLog(Base):
    """One row per revision run: which revision, which way, its file's SHA-256, how long, who.

    Written by alembic/env.py inside each revision's own transaction (see
    sensa_db.migration_history); never by the application. The latest event of
    a revision says whether it is applied; ``sensa-db verify`` checks the
    checksums against the revision files.
    """

    __tablename__ = "migrations_log"
    __table_args__ = (
        CheckConstraint("direction IN ('upgrade', 'downgrade')", name="direction"),
        {"info": departs_from_design(EVENT_LOG, dropping=("migrations_log_filename_key",))},
    )

    migration_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    revision: Mapped[str] = mapped_column(String(32), info=beyond_design(EVENT_LOG))
    filename: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(9), info=beyond_design(EVENT_LOG))
    applied_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), info=stricter(NOT_NULL_DEFAULT)
    )
    checksum: Mapped[str | None] = mapped_column(String(64))
    execution_time_ms: Mapped[int | None]
    applied_by: Mapped[str] = mapped_column(
        String(100), server_default=text("CURRENT_USER"), info=stricter(NOT_NULL_DEFAULT)
    )
