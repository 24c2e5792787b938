"""consensus role and audit_log grants: the behaviour layer under row-level security

Joins the behaviour revisions (audit_log, triggers, functions) to row-level
security, which is FORCEd on the tables' owner:

- check_feedback_consensus() must count learners across every learner's
  annotations, but as a SECURITY DEFINER function owned by the owner it would
  see nothing. It is handed to sensa_consensus, a NOLOGIN role whose policies
  and grants (SELECT, and UPDATE of consensus_count, on user_annotations) cover
  exactly what the count does. The migrating role is made a member so it may
  hand the function over and replace it in later revisions; as policies apply
  to members too, they test current_user = 'sensa_consensus', which holds only
  inside the function: FORCE stays whole for the owner. ALTER FUNCTION ...
  OWNER needs the new owner to hold CREATE on the schema at that moment only:
  granted and revoked around it.
- audit_log has no row-level security (sensa_db/security.py says why):
  admin_role reads it; no application role may.

The membership and the role are cluster-wide and kept on downgrade, as in the
row-level-security revision; the rest is revoked.

Revision ID: 1fd6d0c8f1a6
Revises: 57f79cb3d8b7
Create Date: 2026-11-22 02:35:32.273790+00:00

"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from alembic_utils.pg_policy import PGPolicy

revision: str = "1fd6d0c8f1a6"
down_revision: str | Sequence[str] | None = "57f79cb3d8b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


CREATE_CONSENSUS_ROLE = """
DO $role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'sensa_consensus') THEN
        BEGIN
            CREATE ROLE sensa_consensus NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                NOREPLICATION NOBYPASSRLS;
        EXCEPTION
            -- Another database's migration created it between check and create.
            WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF EXISTS (
        SELECT FROM pg_catalog.pg_roles
        WHERE rolname = 'sensa_consensus' AND (rolsuper OR rolbypassrls OR rolcanlogin)
    ) THEN
        RAISE EXCEPTION 'role sensa_consensus exists with SUPERUSER, BYPASSRLS or LOGIN'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$role$
"""


def upgrade() -> None:
    op.execute(CREATE_CONSENSUS_ROLE)
    op.execute("GRANT sensa_consensus TO CURRENT_USER")
    op.execute("GRANT USAGE ON SCHEMA public TO sensa_consensus")
    op.execute("GRANT SELECT, UPDATE (consensus_count) ON user_annotations TO sensa_consensus")
    op.execute("GRANT CREATE ON SCHEMA public TO sensa_consensus")
    op.execute("ALTER FUNCTION public.check_feedback_consensus() OWNER TO sensa_consensus")
    op.execute("REVOKE CREATE ON SCHEMA public FROM sensa_consensus")
    op.execute("GRANT SELECT ON audit_log TO admin_role")

    public_user_annotations_consensus_tally_select = PGPolicy(
        schema="public",
        signature="consensus_tally_select",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR SELECT TO sensa_consensus\n    USING (current_user = 'sensa_consensus')",
    )
    op.create_entity(public_user_annotations_consensus_tally_select)

    public_user_annotations_consensus_tally_update = PGPolicy(
        schema="public",
        signature="consensus_tally_update",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_consensus\n    USING (current_user = 'sensa_consensus')\n    WITH CHECK (current_user = 'sensa_consensus')",
    )
    op.create_entity(public_user_annotations_consensus_tally_update)


def downgrade() -> None:
    op.execute("REVOKE SELECT ON audit_log FROM admin_role")
    op.execute("ALTER FUNCTION public.check_feedback_consensus() OWNER TO CURRENT_USER")
    op.execute("REVOKE ALL ON user_annotations FROM sensa_consensus")
    op.execute("REVOKE USAGE ON SCHEMA public FROM sensa_consensus")
    public_user_annotations_consensus_tally_update = PGPolicy(
        schema="public",
        signature="consensus_tally_update",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR UPDATE TO sensa_consensus\n    USING (current_user = 'sensa_consensus')\n    WITH CHECK (current_user = 'sensa_consensus')",
    )
    op.drop_entity(public_user_annotations_consensus_tally_update)

    public_user_annotations_consensus_tally_select = PGPolicy(
        schema="public",
        signature="consensus_tally_select",
        on_entity="public.user_annotations",
        definition="AS PERMISSIVE FOR SELECT TO sensa_consensus\n    USING (current_user = 'sensa_consensus')",
    )
    op.drop_entity(public_user_annotations_consensus_tally_select)
