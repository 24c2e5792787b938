"""SQLAlchemy models of the Sensa Learn schema: one module per table."""

from sensa_db.models.analogy_feedback import AnalogyFeedback
from sensa_db.models.audit_log import AuditLog
from sensa_db.models.base import Base
from sensa_db.models.chapter import Chapter
from sensa_db.models.chapter_complexity import ChapterComplexity
from sensa_db.models.course import Course
from sensa_db.models.course_document import CourseDocument
from sensa_db.models.document_claim import DocumentClaim
from sensa_db.models.enums import (
    ComplexityLevel,
    FeedbackType,
    LearningStyle,
    ProcessingStatus,
    UserRole,
)
from sensa_db.models.keyword import Keyword
from sensa_db.models.keyword_relationship import KeywordRelationship
from sensa_db.models.migration_log import MigrationLog
from sensa_db.models.pipeline_result import PipelineResult
from sensa_db.models.processed_document import ProcessedDocument
from sensa_db.models.user import User
from sensa_db.models.user_annotation import UserAnnotation
from sensa_db.models.user_profile import UserProfile
from sensa_db.models.user_progress import UserProgress

# What Alembic compares against the database.
metadata = Base.metadata

__all__ = [
    "AnalogyFeedback",
    "AuditLog",
    "Base",
    "Chapter",
    "ChapterComplexity",
    "ComplexityLevel",
    "Course",
    "CourseDocument",
    "DocumentClaim",
    "FeedbackType",
    "Keyword",
    "KeywordRelationship",
    "LearningStyle",
    "MigrationLog",
    "PipelineResult",
    "ProcessedDocument",
    "ProcessingStatus",
    "User",
    "UserAnnotation",
    "UserProfile",
    "UserProgress",
    "UserRole",
    "metadata",
]
