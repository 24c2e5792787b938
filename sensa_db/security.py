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
# Owns check_feedback_consensus(), the one SECURITY DEFINER function that must
# see across learners: its policies and grants cover exactly what the count
# reads and writes, so FORCEd row-level security stays whole for the owner.
CONSENSUS_ROLE = "sensa_consensus"
# Reads every row of every table and writes nothing: what a logical dump
# (pg_dump --enable-row-security), a restore drill's comparison and a learner's
# export need. Its policies are USING (true) FOR SELECT, so no standing member
# may be the owner: membership would open every row to the migrating login.
BACKUP_ROLE = "sensa_backup"
ROLES = (ADMIN_ROLE, APP_ROLE, WORKER_ROLE, CONSENSUS_ROLE, BACKUP_ROLE)

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
    "alembic_version": "Alembic's bookkeeping; read by the backup role only",
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
GRANTS: Mapping[str, Mapping[str, frozenset[str]]] = {
    APP_ROLE: {table: (_APP_USER_PRIVILEGES if table == "users" else DML) for table in RLS_TABLES},
    WORKER_ROLE: {
        "course_documents": frozenset({"SELECT"}) | _columns("UPDATE", *_WORKER_STATUS_COLUMNS),
        **dict.fromkeys(_WORKER_RESULT_TABLES, DML),
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

# Functions that not every role may call (EXECUTE is revoked from PUBLIC), and who may.
# The worker's protocol (sensa_db/functions/pipeline.sql) runs as its caller over
# tables only the worker may write; get_content_consensus() counts across learners
# and would tell a learner that others uploaded the same PDF.
RESTRICTED_FUNCTIONS: Mapping[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "check_claim_arguments(text, text, integer)",
            "claim_document(uuid, text, text, integer)",
            "claim_next_document(text, text, integer)",
            "require_document_claim(uuid, uuid)",
            "check_pipeline_result_shape(jsonb, jsonb)",
            "materialize_pipeline_result(uuid, text)",
            "complete_document_from_cache(uuid, uuid)",
            "record_pipeline_result(uuid, uuid, jsonb, jsonb, text, vector)",
            "record_processing_failure(uuid, uuid, text)",
        ),
        frozenset({WORKER_ROLE}),
    ),
    # sensa_consensus owns it (see CONSENSUS_ROLE), and nothing logs in as it.
    "get_content_consensus(integer)": frozenset({WORKER_ROLE, ADMIN_ROLE, CONSENSUS_ROLE}),
}
