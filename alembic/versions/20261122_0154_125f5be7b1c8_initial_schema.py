"""initial schema: the design's 13 tables, 5 enums and their indexes

Extensions are created IF NOT EXISTS and deliberately left in place on
downgrade: on RDS they belong to rds_superuser and other databases' objects
may depend on PostGIS. The enum types are created explicitly, once, because
complexity_level_enum is shared by two tables.

Revision ID: 125f5be7b1c8
Revises:
Create Date: 2026-11-22 01:54:54.037911+00:00

"""

from collections.abc import Sequence

import geoalchemy2
import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "125f5be7b1c8"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


USER_ROLE = postgresql.ENUM("user", "admin", "moderator", name="user_role", create_type=False)
PROCESSING_STATUS_ENUM = postgresql.ENUM(
    "pending", "processing", "completed", "failed", name="processing_status_enum", create_type=False
)
FEEDBACK_TYPE_ENUM = postgresql.ENUM(
    "concept_map", "processing", "general", "analogy", name="feedback_type_enum", create_type=False
)
LEARNING_STYLE_ENUM = postgresql.ENUM(
    "visual", "auditory", "kinesthetic", "reading", name="learning_style_enum", create_type=False
)
COMPLEXITY_LEVEL_ENUM = postgresql.ENUM(
    "high", "medium", "low", name="complexity_level_enum", create_type=False
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE TYPE user_role AS ENUM ('user', 'admin', 'moderator')")
    op.execute(
        "CREATE TYPE processing_status_enum AS ENUM ('pending', 'processing', 'completed', 'failed')"
    )
    op.execute(
        "CREATE TYPE feedback_type_enum AS ENUM ('concept_map', 'processing', 'general', 'analogy')"
    )
    op.execute(
        "CREATE TYPE learning_style_enum AS ENUM ('visual', 'auditory', 'kinesthetic', 'reading')"
    )
    op.execute("CREATE TYPE complexity_level_enum AS ENUM ('high', 'medium', 'low')")
    op.create_table(
        "migrations_log",
        sa.Column("migration_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("execution_time_ms", sa.Integer(), nullable=True),
        sa.Column(
            "applied_by",
            sa.String(length=100),
            server_default=sa.text("CURRENT_USER"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("migration_id", name=op.f("migrations_log_pkey")),
        sa.UniqueConstraint("filename", name=op.f("migrations_log_filename_key")),
    )
    op.create_table(
        "users",
        sa.Column(
            "user_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("cognito_sub", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("email_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "role",
            USER_ROLE,
            server_default=sa.text("'user'"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("users_pkey")),
        sa.UniqueConstraint("cognito_sub", name=op.f("users_cognito_sub_key")),
        sa.UniqueConstraint("email", name=op.f("users_email_key")),
    )
    op.create_index(
        "idx_users_active",
        "users",
        ["is_active"],
        unique=False,
        postgresql_where=sa.text("is_active = true"),
    )
    op.create_index("idx_users_cognito_sub", "users", ["cognito_sub"], unique=False)
    op.create_index("idx_users_email", "users", ["email"], unique=False)
    op.create_table(
        "courses",
        sa.Column(
            "course_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("is_archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("courses_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("course_id", name=op.f("courses_pkey")),
    )
    op.create_index(
        "idx_courses_archived",
        "courses",
        ["is_archived"],
        unique=False,
        postgresql_where=sa.text("is_archived = false"),
    )
    op.create_index(
        "idx_courses_created_at", "courses", [sa.literal_column("created_at DESC")], unique=False
    )
    op.create_index(
        "idx_courses_name_trgm",
        "courses",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "idx_courses_user_active_recent",
        "courses",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
        postgresql_where=sa.text("is_archived = false"),
    )
    op.create_index("idx_courses_user_id", "courses", ["user_id"], unique=False)
    op.create_table(
        "user_profiles",
        sa.Column(
            "profile_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("age_range", sa.String(length=20), nullable=True),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column(
            "location_point",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column(
            "interests",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "learning_style",
            LEARNING_STYLE_ENUM,
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("user_profiles_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("user_profiles_pkey")),
        sa.UniqueConstraint("user_id", name=op.f("unique_user_profile")),
    )
    op.create_index(
        "idx_user_profiles_interests",
        "user_profiles",
        ["interests"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "idx_user_profiles_location_point",
        "user_profiles",
        ["location_point"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "course_documents",
        sa.Column(
            "document_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("original_filename", sa.String(length=500), nullable=False),
        sa.Column("s3_key", sa.String(length=1000), nullable=False),
        sa.Column("s3_bucket", sa.String(length=255), nullable=False),
        sa.Column("sha256_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column(
            "upload_date",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "processing_status",
            PROCESSING_STATUS_ENUM,
            server_default=sa.text("'pending'"),
            nullable=False,
        ),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "sha256_hash ~ '^[0-9a-f]{64}$'", name=op.f("course_documents_sha256_hash_hex_check")
        ),
        sa.CheckConstraint(
            "file_size >= 0", name=op.f("course_documents_file_size_non_negative_check")
        ),
        sa.CheckConstraint(
            "page_count >= 0", name=op.f("course_documents_page_count_non_negative_check")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("course_documents_course_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("course_documents_pkey")),
        sa.UniqueConstraint("course_id", "sha256_hash", name=op.f("unique_hash_per_course")),
    )
    op.create_index("idx_documents_course_id", "course_documents", ["course_id"], unique=False)
    op.create_index("idx_documents_hash", "course_documents", ["sha256_hash"], unique=False)
    op.create_index("idx_documents_status", "course_documents", ["processing_status"], unique=False)
    op.create_index(
        "idx_documents_task_id",
        "course_documents",
        ["task_id"],
        unique=False,
        postgresql_where=sa.text("task_id IS NOT NULL"),
    )
    op.create_index(
        "idx_documents_upload_date",
        "course_documents",
        [sa.literal_column("upload_date DESC")],
        unique=False,
    )
    op.create_table(
        "user_annotations",
        sa.Column(
            "annotation_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column(
            "feedback_type",
            FEEDBACK_TYPE_ENUM,
            nullable=False,
        ),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("consensus_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "consensus_count >= 1", name=op.f("user_annotations_consensus_count_positive_check")
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("user_annotations_rating_check")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("user_annotations_course_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("user_annotations_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("annotation_id", name=op.f("user_annotations_pkey")),
    )
    op.create_index(
        "idx_annotations_consensus",
        "user_annotations",
        ["course_id", "feedback_type", "rating"],
        unique=False,
        postgresql_where=sa.text("processed = false"),
    )
    op.create_index("idx_annotations_course_id", "user_annotations", ["course_id"], unique=False)
    op.create_index("idx_annotations_type", "user_annotations", ["feedback_type"], unique=False)
    op.create_index(
        "idx_annotations_unprocessed",
        "user_annotations",
        ["processed"],
        unique=False,
        postgresql_where=sa.text("processed = false"),
    )
    op.create_index("idx_annotations_user_id", "user_annotations", ["user_id"], unique=False)
    op.create_table(
        "processed_documents",
        sa.Column(
            "processed_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("concept_map", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pipeline_version", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=768), nullable=True),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("cache_key", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("processed_documents_course_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["course_documents.document_id"],
            name=op.f("processed_documents_document_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("processed_id", name=op.f("processed_documents_pkey")),
        sa.UniqueConstraint("cache_key", name=op.f("processed_documents_cache_key_key")),
        sa.UniqueConstraint("document_id", name=op.f("unique_doc_processing")),
    )
    op.create_index(
        "idx_processed_docs_concept_map",
        "processed_documents",
        ["concept_map"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"concept_map": "jsonb_path_ops"},
    )
    op.create_index(
        "idx_processed_docs_course_id", "processed_documents", ["course_id"], unique=False
    )
    op.create_index(
        "idx_processed_docs_embedding",
        "processed_documents",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_table(
        "chapters",
        sa.Column(
            "chapter_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("processed_id", sa.UUID(), nullable=False),
        sa.Column("chapter_number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("exam_relevance_score", sa.Integer(), nullable=True),
        sa.Column("complexity_score", sa.Integer(), nullable=True),
        sa.Column(
            "complexity_level",
            COMPLEXITY_LEVEL_ENUM,
            nullable=True,
        ),
        sa.Column("estimated_time_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "complexity_score BETWEEN 0 AND 100", name=op.f("chapters_complexity_score_check")
        ),
        sa.CheckConstraint(
            "estimated_time_minutes >= 0",
            name=op.f("chapters_estimated_time_minutes_non_negative_check"),
        ),
        sa.CheckConstraint(
            "exam_relevance_score BETWEEN 0 AND 100",
            name=op.f("chapters_exam_relevance_score_check"),
        ),
        sa.ForeignKeyConstraint(
            ["processed_id"],
            ["processed_documents.processed_id"],
            name=op.f("chapters_processed_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chapter_id", name=op.f("chapters_pkey")),
        sa.UniqueConstraint("processed_id", "chapter_number", name=op.f("unique_chapter_per_doc")),
    )
    op.create_index("idx_chapters_number", "chapters", ["chapter_number"], unique=False)
    op.create_index("idx_chapters_processed_id", "chapters", ["processed_id"], unique=False)
    op.create_table(
        "analogy_feedback",
        sa.Column(
            "feedback_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("chapter_id", sa.UUID(), nullable=False),
        sa.Column("analogy_id", sa.Uuid(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["chapter_id"],
            ["chapters.chapter_id"],
            name=op.f("analogy_feedback_chapter_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("analogy_feedback_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feedback_id", name=op.f("analogy_feedback_pkey")),
    )
    op.create_index(
        "idx_analogy_feedback_analogy_id", "analogy_feedback", ["analogy_id"], unique=False
    )
    op.create_index(
        "idx_analogy_feedback_chapter_id", "analogy_feedback", ["chapter_id"], unique=False
    )
    op.create_index("idx_analogy_feedback_user_id", "analogy_feedback", ["user_id"], unique=False)
    op.create_table(
        "chapter_complexity",
        sa.Column(
            "complexity_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("chapter_id", sa.UUID(), nullable=False),
        sa.Column(
            "complexity_level",
            COMPLEXITY_LEVEL_ENUM,
            nullable=False,
        ),
        sa.Column("complexity_score", sa.Integer(), nullable=True),
        sa.Column(
            "calculated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "complexity_score BETWEEN 0 AND 100",
            name=op.f("chapter_complexity_complexity_score_check"),
        ),
        sa.ForeignKeyConstraint(
            ["chapter_id"],
            ["chapters.chapter_id"],
            name=op.f("chapter_complexity_chapter_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complexity_id", name=op.f("chapter_complexity_pkey")),
        sa.UniqueConstraint("chapter_id", name=op.f("unique_chapter_complexity")),
    )
    op.create_table(
        "keywords",
        sa.Column(
            "keyword_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("chapter_id", sa.UUID(), nullable=False),
        sa.Column("term", sa.String(length=255), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("exam_relevant", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=768), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["chapter_id"],
            ["chapters.chapter_id"],
            name=op.f("keywords_chapter_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("keyword_id", name=op.f("keywords_pkey")),
    )
    op.create_index("idx_keywords_chapter_id", "keywords", ["chapter_id"], unique=False)
    op.create_index(
        "idx_keywords_embedding",
        "keywords",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index(
        "idx_keywords_primary",
        "keywords",
        ["is_primary"],
        unique=False,
        postgresql_where=sa.text("is_primary = true"),
    )
    op.create_index("idx_keywords_term", "keywords", ["term"], unique=False)
    op.create_index(
        "idx_keywords_term_trgm",
        "keywords",
        ["term"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"term": "gin_trgm_ops"},
    )
    op.create_table(
        "user_progress",
        sa.Column(
            "progress_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("chapter_id", sa.UUID(), nullable=False),
        sa.Column("completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_spent_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("current_streak_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("longest_streak_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_activity_date", sa.Date(), nullable=True),
        sa.Column(
            "badges",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "jsonb_typeof(badges) = 'array'", name=op.f("user_progress_badges_is_array_check")
        ),
        sa.CheckConstraint(
            "current_streak_days >= 0 AND current_streak_days <= longest_streak_days",
            name=op.f("user_progress_streak_within_longest_check"),
        ),
        sa.CheckConstraint(
            "time_spent_seconds >= 0",
            name=op.f("user_progress_time_spent_seconds_non_negative_check"),
        ),
        sa.ForeignKeyConstraint(
            ["chapter_id"],
            ["chapters.chapter_id"],
            name=op.f("user_progress_chapter_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("user_progress_course_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("user_progress_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("progress_id", name=op.f("user_progress_pkey")),
        sa.UniqueConstraint("user_id", "chapter_id", name=op.f("unique_user_chapter_progress")),
    )
    op.create_index(
        "idx_progress_activity_date",
        "user_progress",
        [sa.literal_column("last_activity_date DESC")],
        unique=False,
    )
    op.create_index(
        "idx_progress_badges", "user_progress", ["badges"], unique=False, postgresql_using="gin"
    )
    op.create_index("idx_progress_chapter_id", "user_progress", ["chapter_id"], unique=False)
    op.create_index(
        "idx_progress_completed",
        "user_progress",
        ["completed"],
        unique=False,
        postgresql_where=sa.text("completed = true"),
    )
    op.create_index("idx_progress_course_id", "user_progress", ["course_id"], unique=False)
    op.create_index(
        "idx_progress_user_activity",
        "user_progress",
        ["user_id", sa.literal_column("last_activity_date DESC")],
        unique=False,
    )
    op.create_index("idx_progress_user_id", "user_progress", ["user_id"], unique=False)
    op.create_table(
        "relationships",
        sa.Column(
            "relationship_id",
            sa.UUID(),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("chapter_id", sa.UUID(), nullable=False),
        sa.Column("source_keyword_id", sa.UUID(), nullable=False),
        sa.Column("target_keyword_id", sa.UUID(), nullable=False),
        sa.Column("relationship_type", sa.String(length=100), nullable=False),
        sa.Column(
            "is_cross_chapter", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("strength", sa.Numeric(precision=3, scale=2), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_keyword_id != target_keyword_id", name=op.f("no_self_reference")
        ),
        sa.CheckConstraint("strength BETWEEN 0 AND 1", name=op.f("relationships_strength_check")),
        sa.ForeignKeyConstraint(
            ["chapter_id"],
            ["chapters.chapter_id"],
            name=op.f("relationships_chapter_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_keyword_id"],
            ["keywords.keyword_id"],
            name=op.f("relationships_source_keyword_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_keyword_id"],
            ["keywords.keyword_id"],
            name=op.f("relationships_target_keyword_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("relationship_id", name=op.f("relationships_pkey")),
    )
    op.create_index("idx_relationships_chapter_id", "relationships", ["chapter_id"], unique=False)
    op.create_index(
        "idx_relationships_cross_chapter",
        "relationships",
        ["is_cross_chapter"],
        unique=False,
        postgresql_where=sa.text("is_cross_chapter = true"),
    )
    op.create_index(
        "idx_relationships_source", "relationships", ["source_keyword_id"], unique=False
    )
    op.create_index(
        "idx_relationships_target", "relationships", ["target_keyword_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("relationships")
    op.drop_table("user_progress")
    op.drop_table("keywords")
    op.drop_table("chapter_complexity")
    op.drop_table("analogy_feedback")
    op.drop_table("chapters")
    op.drop_table("processed_documents")
    op.drop_table("user_annotations")
    op.drop_table("course_documents")
    op.drop_table("user_profiles")
    op.drop_table("courses")
    op.drop_table("users")
    op.drop_table("migrations_log")
    op.execute("DROP TYPE complexity_level_enum")
    op.execute("DROP TYPE learning_style_enum")
    op.execute("DROP TYPE feedback_type_enum")
    op.execute("DROP TYPE processing_status_enum")
    op.execute("DROP TYPE user_role")
