from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from sensa_db.models.base import NOT_NULL_DEFAULT, Base, stricter


class MigrationLog(Base):
    """One row per applied revision: what ran, its checksum, how long, and who ran it."""

    __tablename__ = "migrations_log"

    migration_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    filename: Mapped[str] = mapped_column(String(255), unique=True)
    applied_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), info=stricter(NOT_NULL_DEFAULT)
    )
    checksum: Mapped[str | None] = mapped_column(String(64))
    execution_time_ms: Mapped[int | None]
    applied_by: Mapped[str] = mapped_column(
        String(100), server_default=text("CURRENT_USER"), info=stricter(NOT_NULL_DEFAULT)
    )
