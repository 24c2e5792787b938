"""Who may touch which table: the database roles, each table's row-level-security
stance and the privileges each role holds.

This is the declaration the database is tested against (tests/test_rls_catalog.py):
a table missing from both ``RLS_TABLES`` and ``TABLES_WITHOUT_RLS``, a table whose
``relrowsecurity``/``relforcerowsecurity`` differ from it, or a grant the database
holds that is not written here fails the suite. Revisions cannot import this
module, so each one that adds a table writes its grants and its ``ENABLE``/
``FORCE ROW LEVEL SECURITY`` out in SQL, and this declaration says what they must
add up to. docs/SECURITY.md explains the choices.
"""

from __future__ import annotations

from collections.abc import Mapping

# NOLOGIN group roles, created by the row-level-security revision. Login users
# (or RDS IAM users) are made members: ``GRANT sensa_app TO api_login``.
ADMIN_ROLE = "admin_role"
APP_ROLE = "sensa_app"
WORKER_ROLE = "sensa_worker"
# Reads every row of every table and writes nothing: what a logical dump
# (pg_dump --enable-row-security), a restore drill's comparison, a learner's
# export and a CDC consumer's snapshot need. Its policies are USING (true) FOR
# SELECT, so the migrating login is never a standing member: membership would
# open every row to it.
BACKUP_ROLE = "sensa_backup"
# The roles a login is made a member of: what an attacker holding a login's
# connection holds (docs/SECURITY.md, "Threat model").
LOGIN_ROLES = (ADMIN_ROLE, APP_ROLE, WORKER_ROLE, BACKUP_ROLE)

# Each SECURITY DEFINER function runs as a NOLOGIN role of its own holding only
# what that function reads and writes, never as a role that can create roles or
# databases: a definer turned against its caller's intent would otherwise hand
# that power over. Nothing logs in as them.
# Owns check_feedback_consensus() and get_content_consensus(), which count
# across learners: reads annotations and writes their consensus_count, only
# while it is the effective user (its policies test current_user).
CONSENSUS_ROLE = "sensa_consensus"
# Owns record_audit(): may append to audit_log and nothing else.
AUDIT_WRITER_ROLE = "sensa_audit_writer"
# Owns the worker's protocol (sensa_db/functions/pipeline.sql): holds the writes
# to document_claims, a document's status and the concept-map tables that the
# worker itself does not hold.
PIPELINE_ROLE = "sensa_pipeline"
# Owns schema_revision(), which tells any login the revision the database is at
# (sensa_db.database.check_schema): may read alembic_version and the revision
# columns of migrations_log, nothing else.
REVISION_READER_ROLE = "sensa_revision_reader"
DEFINER_ROLES = (CONSENSUS_ROLE, AUDIT_WRITER_ROLE, PIPELINE_ROLE, REVISION_READER_ROLE)

# Owns the schema's tables, sequences, types and functions (but the definers):
# cannot log in, create roles or create databases. The migrating login (the RDS
# master user, a deploy login, locally sensa_owner) is a member, and revisions
# act as it (SET LOCAL ROLE in alembic/script.py.mako). It is a member of every
# definer role, so that a revision can replace their functions.
SCHEMA_OWNER_ROLE = "sensa_schema_owner"

# Every role the revisions create (cluster-wide, never dropped by a downgrade).
ROLES = (*LOGIN_ROLES, *DEFINER_ROLES, SCHEMA_OWNER_ROLE)

# Who may create temporary objects in the database (TEMPORARY is revoked from
# PUBLIC): staff's bulk loads stage rows in temporary tables, because COPY
# cannot write a table under row-level security. No other role needs them, and
# a temporary object is what a caller would plant to steer a definer.
DATABASE_TEMPORARY = frozenset({ADMIN_ROLE})

# Which role owns each SECURITY DEFINER function; every other function of ours
# runs as its caller. Each definer's search_path lists only pg_catalog and
# pg_temp, last; every other function's lists pg_catalog, public and pg_temp,
# last (DEFINER_SEARCH_PATH, INVOKER_SEARCH_PATH; tests/security/).
DEFINERS: Mapping[str, str] = {
    "record_audit()": AUDIT_WRITER_ROLE,
    "check_feedback_consensus()": CONSENSUS_ROLE,
    "get_content_consensus(integer)": CONSENSUS_ROLE,
    **dict.fromkeys(
        (
            "claim_document(uuid,text,text,integer)",
            "claim_next_document(text,text,integer)",
            "complete_document_from_cache(uuid,uuid)",
            "record_pipeline_result(uuid,uuid,jsonb,jsonb,text,vector)",
            "record_processing_failure(uuid,uuid,text)",
        ),
        PIPELINE_ROLE,
    ),
    "schema_revision(text)": REVISION_READER_ROLE,
}
DEFINER_SEARCH_PATH = "pg_catalog, pg_temp"
INVOKER_SEARCH_PATH = "pg_catalog, public, pg_temp"

# Session settings every login of a role gets (ALTER ROLE login SET ...): a role's
# own settings do not reach its members, so they are set per login, by
# tools/sensa_db_tools/local_cluster.py locally and by the documented login
# creation on RDS (docs/SECURITY.md, "Logins"). They bound what one connection
# can hold: a statement, a lock wait, a transaction left open. Written as
# PostgreSQL shows them (SHOW), so that the login test compares them as they are.
LOGIN_SETTINGS: Mapping[str, Mapping[str, str]] = {
    APP_ROLE: {
        "statement_timeout": "15s",
        "lock_timeout": "5s",
        "idle_in_transaction_session_timeout": "1min",
    },
    WORKER_ROLE: {
        "statement_timeout": "2min",
        "lock_timeout": "5s",
        "idle_in_transaction_session_timeout": "2min",
    },
    ADMIN_ROLE: {
        "statement_timeout": "5min",
        "lock_timeout": "5s",
        "idle_in_transaction_session_timeout": "10min",
    },
    # pg_dump lifts all three in its own session, and `sensa-db backup` in the one
    # transaction that reads every table; they bound anything else done as the login.
    BACKUP_ROLE: {
        "statement_timeout": "1h",
        "lock_timeout": "5s",
        "idle_in_transaction_session_timeout": "10min",
    },
}

# The transaction-local setting that names the learner a transaction acts for.
CONTEXT_SETTING = "app.current_user_id"

# The tables below courses, whose owner the database stamps on each row from
# its parent (sensa_db/triggers/ownership.sql): user_id is not in the design.
OWNER_STAMPED_TABLES = (
    "course_documents",
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
)

# Every table holding a learner's data, with the columns its learner policies
# filter on (each leads an index, so a policy never forces a sequential scan).
# Every table below users carries its owner's user_id: the concept-map tables
# have it stamped from their parent by a trigger (sensa_db/triggers/ownership.sql).
RLS_TABLES: Mapping[str, tuple[str, ...]] = {
    table: ("user_id",)
    for table in (
        "users",
        "user_profiles",
        "courses",
        "user_annotations",
        "user_progress",
        "analogy_feedback",
        *OWNER_STAMPED_TABLES,
    )
}

# Tables deliberately left without row-level security, and why.
TABLES_WITHOUT_RLS: Mapping[str, str] = {
    "migrations_log": (
        "schema history, no learner data; written by the migrating role only and"
        " granted to no application role (admin_role may read it)"
    ),
    "alembic_version": (
        "Alembic's bookkeeping; read only by sensa_revision_reader, inside"
        " schema_revision(), and by the backup role"
    ),
    "audit_log": (
        "written only by the SECURITY DEFINER audit trigger and append-only; no"
        " application role may read or write it (admin_role may read it)"
    ),
    "pipeline_results": (
        "what the pipeline made of a PDF's content, stored once per content and pipeline"
        " version; no learner's identity; granted to the worker and staff only, because a"
        " learner who could look a cache key up would learn that someone uploaded that PDF"
    ),
    "document_claims": (
        "the worker's leases on documents being processed (document, worker, expiry), no"
        " learner's data; granted to the worker (and read by staff) only"
    ),
}

DML = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})


def _columns(privilege: str, *columns: str) -> frozenset[str]:
    """Column-level privileges, spelled as the catalog test reads them: ``UPDATE(email)``."""
    return frozenset(f"{privilege}({column})" for column in columns)


# users.role is writable by admin_role only: a learner who could write it could
# promote themselves to staff in the API. users.user_id and cognito_sub never change.
_APP_USER_PRIVILEGES = (
    frozenset({"SELECT", "DELETE"})
    | _columns(
        "INSERT", "user_id", "cognito_sub", "email", "email_verified", "last_login_at", "is_active"
    )
    | _columns("UPDATE", "email", "email_verified", "last_login_at", "is_active")
)

# A progress row keeps the learner, course and chapter it was inserted with (the
# insert policy checks them), so the update policy need not check them again on
# every heartbeat. A new column of user_progress is updatable once granted here.
_APP_PROGRESS_PRIVILEGES = frozenset({"SELECT", "INSERT", "DELETE"}) | _columns(
    "UPDATE",
    "completed",
    "completed_at",
    "time_spent_seconds",
    "current_streak_days",
    "longest_streak_days",
    "last_activity_date",
    "badges",
)

# What processing needs: the document's location to fetch it, its status to
# report progress, and the result tables. Nothing about the person: no users,
# profiles, courses, annotations, progress or feedback.
_WORKER_RESULT_TABLES = (
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
)
_WORKER_STATUS_COLUMNS = ("processing_status", "task_id", "error_message", "processed_at")

# Table privileges per role. Nothing else is granted on our tables, to these
# roles or to PUBLIC: a new table is out of reach until a revision grants it.
# The worker reads; what it changes, it changes through the protocol's
# functions, which run as sensa_pipeline.
GRANTS: Mapping[str, Mapping[str, frozenset[str]]] = {
    APP_ROLE: {
        **dict.fromkeys(RLS_TABLES, DML),
        "users": _APP_USER_PRIVILEGES,
        "user_progress": _APP_PROGRESS_PRIVILEGES,
    },
    WORKER_ROLE: {
        table: frozenset({"SELECT"})
        for table in (
            "course_documents",
            *_WORKER_RESULT_TABLES,
            "pipeline_results",
            "document_claims",
        )
    },
    PIPELINE_ROLE: {
        "course_documents": frozenset({"SELECT"}) | _columns("UPDATE", *_WORKER_STATUS_COLUMNS),
        # Replaced whole, never edited: no UPDATE, so no row moves to another parent.
        **dict.fromkeys(_WORKER_RESULT_TABLES, frozenset({"SELECT", "INSERT", "DELETE"})),
        # Stored once and never rewritten: a result is replaced by a new pipeline version.
        "pipeline_results": frozenset({"SELECT", "INSERT"}),
        "document_claims": DML,
    },
    ADMIN_ROLE: {
        **dict.fromkeys(RLS_TABLES, DML),
        "migrations_log": frozenset({"SELECT"}),
        "audit_log": frozenset({"SELECT"}),
        # Staff may discard a stored result (a bad pipeline run), forcing reprocessing.
        "pipeline_results": frozenset({"SELECT", "DELETE"}),
        "document_claims": frozenset({"SELECT"}),
    },
    CONSENSUS_ROLE: {
        "user_annotations": frozenset({"SELECT"}) | _columns("UPDATE", "consensus_count")
    },
    AUDIT_WRITER_ROLE: {"audit_log": frozenset({"INSERT"})},
    REVISION_READER_ROLE: {
        "alembic_version": frozenset({"SELECT"}),
        "migrations_log": _columns("SELECT", "migration_id", "revision", "direction"),
    },
    # Every table, bookkeeping included: a dump that leaves one out cannot be restored whole.
    BACKUP_ROLE: dict.fromkeys((*RLS_TABLES, *TABLES_WITHOUT_RLS), frozenset({"SELECT"})),
}

# A dump restores the sequences' positions, so the backup role reads them too.
# Nothing else is granted on our sequences.
SEQUENCE_GRANTS: Mapping[str, Mapping[str, frozenset[str]]] = {
    BACKUP_ROLE: dict.fromkeys(
        ("audit_log_audit_id_seq", "migrations_log_migration_id_seq"), frozenset({"SELECT"})
    ),
}

# Functions that not every login may call (EXECUTE is revoked from PUBLIC), and
# which login roles may. The worker calls its protocol's five entry points; their
# helpers (claim checks, materialize_pipeline_result()) run only inside them, as
# sensa_pipeline. get_content_consensus() counts across learners and would tell a
# learner that others uploaded the same PDF.
RESTRICTED_FUNCTIONS: Mapping[str, frozenset[str]] = {
    **dict.fromkeys(
        (signature for signature, owner in DEFINERS.items() if owner == PIPELINE_ROLE),
        frozenset({WORKER_ROLE}),
    ),
    **dict.fromkeys(
        (
            "check_claim_arguments(text,text,integer)",
            "require_document_claim(uuid,uuid)",
            "check_pipeline_result_shape(jsonb,jsonb)",
            "materialize_pipeline_result(uuid,text)",
        ),
        frozenset(),
    ),
    "get_content_consensus(integer)": frozenset({WORKER_ROLE, ADMIN_ROLE}),
    "set_current_user_id(uuid)": frozenset({APP_ROLE}),
}
