"""The design's five PostgreSQL enum types. The database stores the values."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum


class UserRole(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"
    MODERATOR = "moderator"


class ProcessingStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class FeedbackType(enum.StrEnum):
    CONCEPT_MAP = "concept_map"
    PROCESSING = "processing"
    GENERAL = "general"
    ANALOGY = "analogy"


class LearningStyle(enum.StrEnum):
    VISUAL = "visual"
    AUDITORY = "auditory"
    KINESTHETIC = "kinesthetic"
    READING = "reading"


class ComplexityLevel(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Values the design's enums do not have, each with its reason, e.g.
# {ProcessingStatus.ARCHIVED: "documents a learner put away"}. The conformance
# test allows exactly these; docs/SCHEMA.md lists them.
VALUES_BEYOND_DESIGN: dict[enum.StrEnum, str] = {}


def _values(members: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in members]


def pg_enum(python_enum: type[enum.Enum], name: str) -> Enum:
    """A native PostgreSQL enum that stores member values (not Python names)."""
    options: dict[str, Any] = {"name": name, "values_callable": _values, "validate_strings": True}
    return Enum(python_enum, **options)


user_role = pg_enum(UserRole, "user_role")
processing_status_enum = pg_enum(ProcessingStatus, "processing_status_enum")
feedback_type_enum = pg_enum(FeedbackType, "feedback_type_enum")
learning_style_enum = pg_enum(LearningStyle, "learning_style_enum")
complexity_level_enum = pg_enum(ComplexityLevel, "complexity_level_enum")
