"""audit_log: an append-only record of changes to learner-owned rows

The table only; the triggers that fill it and keep it append-only come in the
next revision (alembic_utils cannot create a trigger on a table created in the
same revision).

Revision ID: fc2b8325990b
Revises: 125f5be7b1c8
Create Date: 2026-11-22 02:07:06.553918+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "fc2b8325990b"
down_revision: str | Sequence[str] | None = "125f5be7b1c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("audit_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("record_id", sa.UUID(), nullable=False),
        sa.Column("old_row", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_row", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("acting_user_id", sa.UUID(), nullable=True),
        sa.Column("database_role", sa.Text(), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(operation = 'INSERT' AND old_row IS NULL AND new_row IS NOT NULL) OR (operation = 'UPDATE' AND old_row IS NOT NULL AND new_row IS NOT NULL) OR (operation = 'DELETE' AND old_row IS NOT NULL AND new_row IS NULL)",
            name=op.f("audit_log_rows_match_operation_check"),
        ),
        sa.CheckConstraint(
            "operation IN ('INSERT', 'UPDATE', 'DELETE')", name=op.f("audit_log_operation_check")
        ),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("audit_log_pkey")),
    )
    op.create_index(
        "idx_audit_log_acting_user",
        "audit_log",
        ["acting_user_id", "occurred_at"],
        unique=False,
        postgresql_where=sa.text("acting_user_id IS NOT NULL"),
    )
    op.create_index(
        "idx_audit_log_occurred_at",
        "audit_log",
        ["occurred_at"],
        unique=False,
        postgresql_using="brin",
    )
    op.create_index(
        "idx_audit_log_record",
        "audit_log",
        ["table_name", "record_id", "occurred_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("idx_audit_log_record", table_name="audit_log")
    op.drop_index("idx_audit_log_occurred_at", table_name="audit_log", postgresql_using="brin")
    op.drop_index(
        "idx_audit_log_acting_user",
        table_name="audit_log",
        postgresql_where=sa.text("acting_user_id IS NOT NULL"),
    )
    op.drop_table("audit_log")
