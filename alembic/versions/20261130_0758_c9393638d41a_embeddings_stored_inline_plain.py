"""Embeddings stored inline (STORAGE PLAIN), so the planner prices reading them

A 768-dimension vector is 3,080 bytes, above the 2 KB at which PostgreSQL moves
a value out of line, and pgvector's type defaults to EXTERNAL storage: every
embedding lived in the TOAST table, and the heap held an 18-byte pointer. The
planner prices a sequential scan by heap pages, so it priced sorting all
40,000 embeddings at 1,765 pages while the scan really fetched 156 MB of
TOAST (one TOAST index lookup per row, a second to read them all); an HNSW
scan looked dearer than that below about 40,000 documents, and the global
searches flipped to an exact scan 100x slower than the index
(find_similar_documents 139 ms at p50 on 40,000 real embeddings).

With PLAIN storage the vector is in the heap row (two rows per 8 KB page), the
planner's page count is the bytes a scan reads, the HNSW index wins from
about a thousand rows on, and a learner's own documents (an index on user_id,
then a sort) stay an exact scan. A scan of every embedding also gets 4x
faster without the TOAST lookups.

SET STORAGE changes the catalog only (a brief ACCESS EXCLUSIVE lock, no
rewrite): rows written from now on are inline; rows already in the TOAST
table stay there until rewritten (VACUUM FULL or pg_repack of the two tables,
docs/OPERATIONS.md). The downgrade restores the type's default, EXTERNAL.

Revision ID: c9393638d41a
Revises: 4fd31078d7ea
Create Date: 2026-11-30 07:58:21.112297+00:00

"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op

revision: str = "c9393638d41a"
down_revision: str | Sequence[str] | None = "4fd31078d7ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement waiting longer than LOCK_TIMEOUT for its lock gives up (the
# deploy fails, nothing is applied) instead of queueing every query on the
# table behind it. Raise STATEMENT_TIMEOUT here for a long data migration.
# SET LOCAL ends with this revision's transaction; inside an autocommit_block
# the session values env.py sets apply. See docs/MIGRATION_GUIDELINES.md.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"

EMBEDDING_TABLES = ("processed_documents", "keywords")


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    for table in EMBEDDING_TABLES:
        op.execute(f"ALTER TABLE public.{table} ALTER COLUMN embedding SET STORAGE PLAIN")


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    for table in EMBEDDING_TABLES:
        op.execute(f"ALTER TABLE public.{table} ALTER COLUMN embedding SET STORAGE EXTERNAL")
