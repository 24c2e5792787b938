"""migrations_log records every upgrade and downgrade, keyed by revision

The design's table holds one row per applied file (filename UNIQUE), so an
upgrade, downgrade and upgrade again of one revision leaves a single row that
tells nothing of the revert in between. A DBA auditing a production database
asks what ran, when, by whom and in which direction, so the table becomes an
append-only log of events: `revision` (the Alembic id, which survives a file
rename) and `direction` are added and filename's uniqueness goes. "Is it
applied?" is answered by the latest event of a revision (and by
alembic_version); `sensa-db verify` compares both with the files.

The table holds a few dozen rows and is written only by migrations, under the
migration lock, so the brief ACCESS EXCLUSIVE locks below harm no one: the
squawk exceptions say so where they apply.

Downgrade restores the design's shape and so cannot keep the events: it keeps
each file's latest application and drops reverted files' rows. Take a
snapshot first if the history matters (docs/OPERATIONS.md).

Revision ID: a6f7b47487af
Revises: 1fd6d0c8f1a6
Create Date: 2026-11-22 02:08:41.074824+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a6f7b47487af"
down_revision: str | Sequence[str] | None = "1fd6d0c8f1a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"

TINY_TABLE = "-- migrations_log: a few dozen rows, written only by migrations\n"


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.add_column("migrations_log", sa.Column("revision", sa.String(length=32), nullable=True))
    # Rows written before this revision name files in alembic.ini's
    # template, YYYYMMDD_HHMM_<revision>_<slug>.py.
    op.execute(
        "UPDATE migrations_log"
        " SET revision = substring(filename FROM '^[0-9]{8}_[0-9]{4}_([0-9a-z]+)_')"
    )
    op.execute(
        f"{TINY_TABLE}-- squawk-ignore adding-not-nullable-field\n"
        "ALTER TABLE migrations_log ALTER COLUMN revision SET NOT NULL"
    )
    # Every row so far recorded an application; new rows state their direction.
    op.execute(
        "ALTER TABLE migrations_log ADD COLUMN direction VARCHAR(9) NOT NULL DEFAULT 'upgrade'"
    )
    op.execute(
        "-- the default only filled the rows above: no client ever relied on it\n"
        "-- squawk-ignore ban-drop-default\n"
        "ALTER TABLE migrations_log ALTER COLUMN direction DROP DEFAULT"
    )
    op.execute(
        f"{TINY_TABLE}-- squawk-ignore constraint-missing-not-valid\n"
        "ALTER TABLE migrations_log ADD CONSTRAINT migrations_log_direction_check"
        " CHECK (direction IN ('upgrade', 'downgrade'))"
    )
    op.execute(
        "-- one row per event now: a file applied twice has two rows\n"
        "-- squawk-ignore ban-drop-constraint\n"
        "ALTER TABLE migrations_log DROP CONSTRAINT migrations_log_filename_key"
    )


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    op.execute(
        "DELETE FROM migrations_log AS older WHERE EXISTS (SELECT FROM migrations_log AS newer"
        " WHERE newer.filename = older.filename AND newer.migration_id > older.migration_id)"
    )
    op.execute("DELETE FROM migrations_log WHERE direction = 'downgrade'")
    op.create_unique_constraint(op.f("migrations_log_filename_key"), "migrations_log", ["filename"])
    op.drop_constraint(op.f("migrations_log_direction_check"), "migrations_log", type_="check")
    op.drop_column("migrations_log", "direction")
    op.drop_column("migrations_log", "revision")
