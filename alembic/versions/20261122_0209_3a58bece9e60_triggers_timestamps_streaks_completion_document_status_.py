"""triggers: timestamps, streaks, completion, document status, feedback consensus, interests, audit

Written by autogenerate from sensa_db/triggers/*.sql; the SQL is inlined so
that this revision replays identically whatever the package becomes.

Revision ID: 3a58bece9e60
Revises: fc2b8325990b
Create Date: 2026-11-22 02:09:13.706145+00:00

"""

from collections.abc import Sequence

from alembic import op
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger
from sqlalchemy import text as sql_text

revision: str = "3a58bece9e60"
down_revision: str | Sequence[str] | None = "fc2b8325990b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    public_record_audit = PGFunction(
        schema="public",
        signature="record_audit()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY DEFINER\nSET search_path = ''\nAS $$\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN pg_catalog.to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN pg_catalog.to_jsonb(NEW) END;\n    session_role text := pg_catalog.current_setting('role');\nBEGIN\n    IF TG_OP = 'UPDATE' AND old_row = new_row THEN\n        RETURN NULL;\n    END IF;\n    INSERT INTO public.audit_log\n        (table_name, operation, record_id, old_row, new_row, acting_user_id, database_role)\n    VALUES (\n        TG_TABLE_NAME,\n        TG_OP,\n        (coalesce(new_row, old_row) ->> TG_ARGV[0])::uuid,\n        old_row,\n        new_row,\n        nullif(pg_catalog.current_setting('app.current_user_id', true), '')::uuid,\n        CASE WHEN session_role = 'none' THEN SESSION_USER::text ELSE session_role END\n    );\n    RETURN NULL;\nEND;\n$$",
    )
    op.create_entity(public_record_audit)

    public_reject_audit_log_change = PGFunction(
        schema="public",
        signature="reject_audit_log_change()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    RAISE EXCEPTION 'audit_log is append-only\\: % is not allowed', TG_OP\n        USING ERRCODE = 'insufficient_privilege', TABLE = 'audit_log';\nEND;\n$$",
    )
    op.create_entity(public_reject_audit_log_change)

    public_enforce_document_status_transition = PGFunction(
        schema="public",
        signature="enforce_document_status_transition()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    previous public.processing_status_enum :=\n        CASE WHEN TG_OP = 'UPDATE' THEN OLD.processing_status END;\n    allowed boolean;\nBEGIN\n    IF TG_OP = 'INSERT' AND NEW.processing_status <> 'pending' THEN\n        RAISE EXCEPTION 'a new course document must be pending, not %', NEW.processing_status\n            USING ERRCODE = 'check_violation',\n                  CONSTRAINT = 'course_documents_processing_status_transition',\n                  TABLE = 'course_documents';\n    END IF;\n\n    IF TG_OP = 'UPDATE' AND NEW.processing_status IS DISTINCT FROM previous THEN\n        allowed := CASE previous\n            WHEN 'pending' THEN NEW.processing_status = 'processing'\n            WHEN 'processing' THEN NEW.processing_status IN ('completed', 'failed')\n            WHEN 'failed' THEN NEW.processing_status = 'pending'\n            ELSE false\n        END;\n        IF NOT allowed THEN\n            RAISE EXCEPTION 'processing_status cannot go from % to % (document %)',\n                previous, NEW.processing_status, NEW.document_id\n                USING ERRCODE = 'check_violation',\n                      CONSTRAINT = 'course_documents_processing_status_transition',\n                      TABLE = 'course_documents',\n                      HINT = 'allowed\\: pending -> processing -> completed | failed, failed -> pending';\n        END IF;\n\n        CASE NEW.processing_status\n            WHEN 'completed' THEN\n                NEW.processed_at := now();\n                NEW.error_message := NULL;\n            WHEN 'pending' THEN\n                NEW.processed_at := NULL;\n                NEW.error_message := NULL;\n            ELSE\n                NULL;\n        END CASE;\n    END IF;\n\n    IF NEW.processing_status = 'failed' AND coalesce(btrim(NEW.error_message), '') = '' THEN\n        RAISE EXCEPTION 'a failed course document needs an error_message (document %)',\n            NEW.document_id\n            USING ERRCODE = 'check_violation',\n                  CONSTRAINT = 'course_documents_failed_error_message',\n                  TABLE = 'course_documents';\n    END IF;\n    RETURN NEW;\nEND;\n$$",
    )
    op.create_entity(public_enforce_document_status_transition)

    public_check_feedback_consensus = PGFunction(
        schema="public",
        signature="check_feedback_consensus()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY DEFINER\nSET search_path = ''\nAS $$\nDECLARE\n    course_ids uuid[] := '{}';\n    feedback_types public.feedback_type_enum[] := '{}';\n    ratings integer[] := '{}';\n    touched record;\nBEGIN\n    IF TG_OP IN ('UPDATE', 'DELETE') THEN\n        course_ids := course_ids || OLD.course_id;\n        feedback_types := feedback_types || OLD.feedback_type;\n        ratings := ratings || OLD.rating;\n    END IF;\n    IF TG_OP IN ('INSERT', 'UPDATE') THEN\n        course_ids := course_ids || NEW.course_id;\n        feedback_types := feedback_types || NEW.feedback_type;\n        ratings := ratings || NEW.rating;\n    END IF;\n\n    -- Groups are locked in a fixed order so that two writers moving rows\n    -- between the same groups cannot deadlock.\n    FOR touched IN\n        SELECT DISTINCT g.course_id, g.feedback_type, g.rating\n        FROM unnest(course_ids, feedback_types, ratings) AS g(course_id, feedback_type, rating)\n        WHERE g.rating IS NOT NULL\n        ORDER BY g.course_id, g.feedback_type, g.rating\n    LOOP\n        PERFORM pg_catalog.pg_advisory_xact_lock(\n            pg_catalog.hashtextextended(\n                pg_catalog.concat_ws(\n                    '/', 'user_annotations consensus',\n                    touched.course_id, touched.feedback_type, touched.rating\n                ),\n                0\n            )\n        );\n        UPDATE public.user_annotations ua\n        SET consensus_count = tally.learners\n        FROM (\n            SELECT pg_catalog.count(DISTINCT a.user_id)::integer AS learners\n            FROM public.user_annotations a\n            WHERE a.course_id = touched.course_id\n              AND a.feedback_type = touched.feedback_type\n              AND a.rating = touched.rating\n              AND NOT a.processed\n        ) tally\n        WHERE ua.course_id = touched.course_id\n          AND ua.feedback_type = touched.feedback_type\n          AND ua.rating = touched.rating\n          AND NOT ua.processed\n          AND ua.consensus_count <> tally.learners;\n    END LOOP;\n    RETURN NULL;\nEND;\n$$",
    )
    op.create_entity(public_check_feedback_consensus)

    public_validate_user_interests = PGFunction(
        schema="public",
        signature="validate_user_interests()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    broken_rule text;\n    message text;\nBEGIN\n    IF jsonb_typeof(NEW.interests) <> 'array' THEN\n        broken_rule := 'is_array';\n        message := format('interests must be a JSON array, not a JSON %s', jsonb_typeof(NEW.interests));\n    ELSIF jsonb_array_length(NEW.interests) > 50 THEN\n        broken_rule := 'at_most_50';\n        message := format('interests may hold at most 50 entries, not %s', jsonb_array_length(NEW.interests));\n    ELSIF EXISTS (\n        SELECT FROM jsonb_array_elements(NEW.interests) AS e(value)\n        WHERE jsonb_typeof(e.value) <> 'string'\n    ) THEN\n        broken_rule := 'are_strings';\n        message := 'every interest must be a string';\n    ELSIF EXISTS (\n        SELECT FROM jsonb_array_elements_text(NEW.interests) AS e(value)\n        WHERE btrim(e.value) = ''\n    ) THEN\n        broken_rule := 'not_blank';\n        message := 'an interest must not be empty or blank';\n    ELSIF EXISTS (\n        SELECT FROM jsonb_array_elements_text(NEW.interests) AS e(value)\n        WHERE char_length(e.value) > 100\n    ) THEN\n        broken_rule := 'max_length';\n        message := 'an interest may be at most 100 characters long';\n    ELSIF (SELECT count(DISTINCT e.value) FROM jsonb_array_elements_text(NEW.interests) AS e(value))\n          <> jsonb_array_length(NEW.interests) THEN\n        broken_rule := 'distinct';\n        message := 'interests must not repeat an entry';\n    END IF;\n\n    IF broken_rule IS NOT NULL THEN\n        RAISE EXCEPTION '%', message\n            USING ERRCODE = 'check_violation',\n                  CONSTRAINT = 'user_profiles_interests_' || broken_rule,\n                  TABLE = 'user_profiles',\n                  COLUMN = 'interests';\n    END IF;\n    RETURN NEW;\nEND;\n$$",
    )
    op.create_entity(public_validate_user_interests)

    public_update_user_streak = PGFunction(
        schema="public",
        signature="update_user_streak()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    today date := (now() AT TIME ZONE 'UTC')::date;\n    last_day date;\n    last_streak integer;\n    best_streak integer;\nBEGIN\n    -- In a BEFORE UPDATE trigger the table still holds this row's old version,\n    -- so it counts as one of the learner's rows; a row being inserted does not.\n    SELECT up.last_activity_date, up.current_streak_days\n    INTO last_day, last_streak\n    FROM public.user_progress up\n    WHERE up.user_id = NEW.user_id AND up.last_activity_date IS NOT NULL\n    ORDER BY up.last_activity_date DESC, up.current_streak_days DESC\n    LIMIT 1;\n\n    SELECT coalesce(max(up.longest_streak_days), 0)\n    INTO best_streak\n    FROM public.user_progress up\n    WHERE up.user_id = NEW.user_id;\n\n    NEW.current_streak_days := CASE\n        WHEN last_day IS NULL THEN 1\n        WHEN last_day >= today THEN greatest(last_streak, 1)\n        WHEN last_day = today - 1 THEN last_streak + 1\n        ELSE 1\n    END;\n    NEW.longest_streak_days := greatest(best_streak, NEW.current_streak_days);\n    NEW.last_activity_date := today;\n    RETURN NEW;\nEND;\n$$",
    )
    op.create_entity(public_update_user_streak)

    public_set_chapter_completed_at = PGFunction(
        schema="public",
        signature="set_chapter_completed_at()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    IF TG_OP = 'INSERT' THEN\n        NEW.completed_at := CASE WHEN NEW.completed THEN coalesce(NEW.completed_at, now()) END;\n    ELSIF NEW.completed AND NOT OLD.completed THEN\n        NEW.completed_at := now();\n    ELSIF OLD.completed AND NOT NEW.completed THEN\n        NEW.completed_at := NULL;\n    END IF;\n    RETURN NEW;\nEND;\n$$",
    )
    op.create_entity(public_set_chapter_completed_at)

    public_update_updated_at_column = PGFunction(
        schema="public",
        signature="update_updated_at_column()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$",
    )
    op.create_entity(public_update_updated_at_column)

    public_user_profiles_audit_user_profiles_changes = PGTrigger(
        schema="public",
        signature="audit_user_profiles_changes",
        on_entity="public.user_profiles",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.user_profiles FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('profile_id')",
    )
    op.create_entity(public_user_profiles_audit_user_profiles_changes)

    public_courses_audit_courses_changes = PGTrigger(
        schema="public",
        signature="audit_courses_changes",
        on_entity="public.courses",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.courses FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('course_id')",
    )
    op.create_entity(public_courses_audit_courses_changes)

    public_user_annotations_audit_user_annotations_changes = PGTrigger(
        schema="public",
        signature="audit_user_annotations_changes",
        on_entity="public.user_annotations",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.user_annotations FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('annotation_id')",
    )
    op.create_entity(public_user_annotations_audit_user_annotations_changes)

    public_analogy_feedback_audit_analogy_feedback_changes = PGTrigger(
        schema="public",
        signature="audit_analogy_feedback_changes",
        on_entity="public.analogy_feedback",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.analogy_feedback FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('feedback_id')",
    )
    op.create_entity(public_analogy_feedback_audit_analogy_feedback_changes)

    public_user_progress_audit_user_progress_changes = PGTrigger(
        schema="public",
        signature="audit_user_progress_changes",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.user_progress FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('progress_id')",
    )
    op.create_entity(public_user_progress_audit_user_progress_changes)

    public_audit_log_audit_log_is_append_only = PGTrigger(
        schema="public",
        signature="audit_log_is_append_only",
        on_entity="public.audit_log",
        is_constraint=False,
        definition="BEFORE UPDATE OR DELETE OR TRUNCATE ON public.audit_log FOR EACH STATEMENT\n    EXECUTE FUNCTION public.reject_audit_log_change()",
    )
    op.create_entity(public_audit_log_audit_log_is_append_only)

    public_course_documents_enforce_document_status_transition = PGTrigger(
        schema="public",
        signature="enforce_document_status_transition",
        on_entity="public.course_documents",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE ON public.course_documents FOR EACH ROW\n    EXECUTE FUNCTION public.enforce_document_status_transition()",
    )
    op.create_entity(public_course_documents_enforce_document_status_transition)

    public_user_annotations_check_consensus_on_feedback = PGTrigger(
        schema="public",
        signature="check_consensus_on_feedback",
        on_entity="public.user_annotations",
        is_constraint=False,
        definition="AFTER INSERT OR DELETE OR UPDATE OF user_id, course_id, feedback_type, rating, processed ON public.user_annotations FOR EACH ROW\n    EXECUTE FUNCTION public.check_feedback_consensus()",
    )
    op.create_entity(public_user_annotations_check_consensus_on_feedback)

    public_user_profiles_validate_user_interests = PGTrigger(
        schema="public",
        signature="validate_user_interests",
        on_entity="public.user_profiles",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF interests ON public.user_profiles FOR EACH ROW\n    EXECUTE FUNCTION public.validate_user_interests()",
    )
    op.create_entity(public_user_profiles_validate_user_interests)

    public_user_progress_update_streak_on_progress_insert = PGTrigger(
        schema="public",
        signature="update_streak_on_progress_insert",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="BEFORE INSERT ON public.user_progress FOR EACH ROW\n    EXECUTE FUNCTION public.update_user_streak()",
    )
    op.create_entity(public_user_progress_update_streak_on_progress_insert)

    public_user_progress_update_streak_on_progress = PGTrigger(
        schema="public",
        signature="update_streak_on_progress",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="BEFORE UPDATE OF time_spent_seconds ON public.user_progress FOR EACH ROW\n    WHEN (NEW.time_spent_seconds > OLD.time_spent_seconds)\n    EXECUTE FUNCTION public.update_user_streak()",
    )
    op.create_entity(public_user_progress_update_streak_on_progress)

    public_user_progress_set_completed_at_on_progress = PGTrigger(
        schema="public",
        signature="set_completed_at_on_progress",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF completed ON public.user_progress FOR EACH ROW\n    EXECUTE FUNCTION public.set_chapter_completed_at()",
    )
    op.create_entity(public_user_progress_set_completed_at_on_progress)

    public_users_update_users_updated_at = PGTrigger(
        schema="public",
        signature="update_users_updated_at",
        on_entity="public.users",
        is_constraint=False,
        definition="BEFORE UPDATE ON public.users FOR EACH ROW\n    WHEN (OLD.* IS DISTINCT FROM NEW.*)\n    EXECUTE FUNCTION public.update_updated_at_column()",
    )
    op.create_entity(public_users_update_users_updated_at)

    public_user_profiles_update_user_profiles_updated_at = PGTrigger(
        schema="public",
        signature="update_user_profiles_updated_at",
        on_entity="public.user_profiles",
        is_constraint=False,
        definition="BEFORE UPDATE ON public.user_profiles FOR EACH ROW\n    WHEN (OLD.* IS DISTINCT FROM NEW.*)\n    EXECUTE FUNCTION public.update_updated_at_column()",
    )
    op.create_entity(public_user_profiles_update_user_profiles_updated_at)

    public_courses_update_courses_updated_at = PGTrigger(
        schema="public",
        signature="update_courses_updated_at",
        on_entity="public.courses",
        is_constraint=False,
        definition="BEFORE UPDATE ON public.courses FOR EACH ROW\n    WHEN (OLD.* IS DISTINCT FROM NEW.*)\n    EXECUTE FUNCTION public.update_updated_at_column()",
    )
    op.create_entity(public_courses_update_courses_updated_at)


def downgrade() -> None:
    public_courses_update_courses_updated_at = PGTrigger(
        schema="public",
        signature="update_courses_updated_at",
        on_entity="public.courses",
        is_constraint=False,
        definition="BEFORE UPDATE ON public.courses FOR EACH ROW\n    WHEN (OLD.* IS DISTINCT FROM NEW.*)\n    EXECUTE FUNCTION public.update_updated_at_column()",
    )
    op.drop_entity(public_courses_update_courses_updated_at)

    public_user_profiles_update_user_profiles_updated_at = PGTrigger(
        schema="public",
        signature="update_user_profiles_updated_at",
        on_entity="public.user_profiles",
        is_constraint=False,
        definition="BEFORE UPDATE ON public.user_profiles FOR EACH ROW\n    WHEN (OLD.* IS DISTINCT FROM NEW.*)\n    EXECUTE FUNCTION public.update_updated_at_column()",
    )
    op.drop_entity(public_user_profiles_update_user_profiles_updated_at)

    public_users_update_users_updated_at = PGTrigger(
        schema="public",
        signature="update_users_updated_at",
        on_entity="public.users",
        is_constraint=False,
        definition="BEFORE UPDATE ON public.users FOR EACH ROW\n    WHEN (OLD.* IS DISTINCT FROM NEW.*)\n    EXECUTE FUNCTION public.update_updated_at_column()",
    )
    op.drop_entity(public_users_update_users_updated_at)

    public_user_progress_set_completed_at_on_progress = PGTrigger(
        schema="public",
        signature="set_completed_at_on_progress",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF completed ON public.user_progress FOR EACH ROW\n    EXECUTE FUNCTION public.set_chapter_completed_at()",
    )
    op.drop_entity(public_user_progress_set_completed_at_on_progress)

    public_user_progress_update_streak_on_progress = PGTrigger(
        schema="public",
        signature="update_streak_on_progress",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="BEFORE UPDATE OF time_spent_seconds ON public.user_progress FOR EACH ROW\n    WHEN (NEW.time_spent_seconds > OLD.time_spent_seconds)\n    EXECUTE FUNCTION public.update_user_streak()",
    )
    op.drop_entity(public_user_progress_update_streak_on_progress)

    public_user_progress_update_streak_on_progress_insert = PGTrigger(
        schema="public",
        signature="update_streak_on_progress_insert",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="BEFORE INSERT ON public.user_progress FOR EACH ROW\n    EXECUTE FUNCTION public.update_user_streak()",
    )
    op.drop_entity(public_user_progress_update_streak_on_progress_insert)

    public_user_profiles_validate_user_interests = PGTrigger(
        schema="public",
        signature="validate_user_interests",
        on_entity="public.user_profiles",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF interests ON public.user_profiles FOR EACH ROW\n    EXECUTE FUNCTION public.validate_user_interests()",
    )
    op.drop_entity(public_user_profiles_validate_user_interests)

    public_user_annotations_check_consensus_on_feedback = PGTrigger(
        schema="public",
        signature="check_consensus_on_feedback",
        on_entity="public.user_annotations",
        is_constraint=False,
        definition="AFTER INSERT OR DELETE OR UPDATE OF user_id, course_id, feedback_type, rating, processed ON public.user_annotations FOR EACH ROW\n    EXECUTE FUNCTION public.check_feedback_consensus()",
    )
    op.drop_entity(public_user_annotations_check_consensus_on_feedback)

    public_course_documents_enforce_document_status_transition = PGTrigger(
        schema="public",
        signature="enforce_document_status_transition",
        on_entity="public.course_documents",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE ON public.course_documents FOR EACH ROW\n    EXECUTE FUNCTION public.enforce_document_status_transition()",
    )
    op.drop_entity(public_course_documents_enforce_document_status_transition)

    public_audit_log_audit_log_is_append_only = PGTrigger(
        schema="public",
        signature="audit_log_is_append_only",
        on_entity="public.audit_log",
        is_constraint=False,
        definition="BEFORE UPDATE OR DELETE OR TRUNCATE ON public.audit_log FOR EACH STATEMENT\n    EXECUTE FUNCTION public.reject_audit_log_change()",
    )
    op.drop_entity(public_audit_log_audit_log_is_append_only)

    public_user_progress_audit_user_progress_changes = PGTrigger(
        schema="public",
        signature="audit_user_progress_changes",
        on_entity="public.user_progress",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.user_progress FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('progress_id')",
    )
    op.drop_entity(public_user_progress_audit_user_progress_changes)

    public_analogy_feedback_audit_analogy_feedback_changes = PGTrigger(
        schema="public",
        signature="audit_analogy_feedback_changes",
        on_entity="public.analogy_feedback",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.analogy_feedback FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('feedback_id')",
    )
    op.drop_entity(public_analogy_feedback_audit_analogy_feedback_changes)

    public_user_annotations_audit_user_annotations_changes = PGTrigger(
        schema="public",
        signature="audit_user_annotations_changes",
        on_entity="public.user_annotations",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.user_annotations FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('annotation_id')",
    )
    op.drop_entity(public_user_annotations_audit_user_annotations_changes)

    public_courses_audit_courses_changes = PGTrigger(
        schema="public",
        signature="audit_courses_changes",
        on_entity="public.courses",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.courses FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('course_id')",
    )
    op.drop_entity(public_courses_audit_courses_changes)

    public_user_profiles_audit_user_profiles_changes = PGTrigger(
        schema="public",
        signature="audit_user_profiles_changes",
        on_entity="public.user_profiles",
        is_constraint=False,
        definition="AFTER INSERT OR UPDATE OR DELETE ON public.user_profiles FOR EACH ROW\n    EXECUTE FUNCTION public.record_audit('profile_id')",
    )
    op.drop_entity(public_user_profiles_audit_user_profiles_changes)

    public_update_updated_at_column = PGFunction(
        schema="public",
        signature="update_updated_at_column()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$",
    )
    op.drop_entity(public_update_updated_at_column)

    public_set_chapter_completed_at = PGFunction(
        schema="public",
        signature="set_chapter_completed_at()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    IF TG_OP = 'INSERT' THEN\n        NEW.completed_at := CASE WHEN NEW.completed THEN coalesce(NEW.completed_at, now()) END;\n    ELSIF NEW.completed AND NOT OLD.completed THEN\n        NEW.completed_at := now();\n    ELSIF OLD.completed AND NOT NEW.completed THEN\n        NEW.completed_at := NULL;\n    END IF;\n    RETURN NEW;\nEND;\n$$",
    )
    op.drop_entity(public_set_chapter_completed_at)

    public_update_user_streak = PGFunction(
        schema="public",
        signature="update_user_streak()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    today date := (now() AT TIME ZONE 'UTC')::date;\n    last_day date;\n    last_streak integer;\n    best_streak integer;\nBEGIN\n    -- In a BEFORE UPDATE trigger the table still holds this row's old version,\n    -- so it counts as one of the learner's rows; a row being inserted does not.\n    SELECT up.last_activity_date, up.current_streak_days\n    INTO last_day, last_streak\n    FROM public.user_progress up\n    WHERE up.user_id = NEW.user_id AND up.last_activity_date IS NOT NULL\n    ORDER BY up.last_activity_date DESC, up.current_streak_days DESC\n    LIMIT 1;\n\n    SELECT coalesce(max(up.longest_streak_days), 0)\n    INTO best_streak\n    FROM public.user_progress up\n    WHERE up.user_id = NEW.user_id;\n\n    NEW.current_streak_days := CASE\n        WHEN last_day IS NULL THEN 1\n        WHEN last_day >= today THEN greatest(last_streak, 1)\n        WHEN last_day = today - 1 THEN last_streak + 1\n        ELSE 1\n    END;\n    NEW.longest_streak_days := greatest(best_streak, NEW.current_streak_days);\n    NEW.last_activity_date := today;\n    RETURN NEW;\nEND;\n$$",
    )
    op.drop_entity(public_update_user_streak)

    public_validate_user_interests = PGFunction(
        schema="public",
        signature="validate_user_interests()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    broken_rule text;\n    message text;\nBEGIN\n    IF jsonb_typeof(NEW.interests) <> 'array' THEN\n        broken_rule := 'is_array';\n        message := format('interests must be a JSON array, not a JSON %s', jsonb_typeof(NEW.interests));\n    ELSIF jsonb_array_length(NEW.interests) > 50 THEN\n        broken_rule := 'at_most_50';\n        message := format('interests may hold at most 50 entries, not %s', jsonb_array_length(NEW.interests));\n    ELSIF EXISTS (\n        SELECT FROM jsonb_array_elements(NEW.interests) AS e(value)\n        WHERE jsonb_typeof(e.value) <> 'string'\n    ) THEN\n        broken_rule := 'are_strings';\n        message := 'every interest must be a string';\n    ELSIF EXISTS (\n        SELECT FROM jsonb_array_elements_text(NEW.interests) AS e(value)\n        WHERE btrim(e.value) = ''\n    ) THEN\n        broken_rule := 'not_blank';\n        message := 'an interest must not be empty or blank';\n    ELSIF EXISTS (\n        SELECT FROM jsonb_array_elements_text(NEW.interests) AS e(value)\n        WHERE char_length(e.value) > 100\n    ) THEN\n        broken_rule := 'max_length';\n        message := 'an interest may be at most 100 characters long';\n    ELSIF (SELECT count(DISTINCT e.value) FROM jsonb_array_elements_text(NEW.interests) AS e(value))\n          <> jsonb_array_length(NEW.interests) THEN\n        broken_rule := 'distinct';\n        message := 'interests must not repeat an entry';\n    END IF;\n\n    IF broken_rule IS NOT NULL THEN\n        RAISE EXCEPTION '%', message\n            USING ERRCODE = 'check_violation',\n                  CONSTRAINT = 'user_profiles_interests_' || broken_rule,\n                  TABLE = 'user_profiles',\n                  COLUMN = 'interests';\n    END IF;\n    RETURN NEW;\nEND;\n$$",
    )
    op.drop_entity(public_validate_user_interests)

    public_check_feedback_consensus = PGFunction(
        schema="public",
        signature="check_feedback_consensus()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY DEFINER\nSET search_path = ''\nAS $$\nDECLARE\n    course_ids uuid[] := '{}';\n    feedback_types public.feedback_type_enum[] := '{}';\n    ratings integer[] := '{}';\n    touched record;\nBEGIN\n    IF TG_OP IN ('UPDATE', 'DELETE') THEN\n        course_ids := course_ids || OLD.course_id;\n        feedback_types := feedback_types || OLD.feedback_type;\n        ratings := ratings || OLD.rating;\n    END IF;\n    IF TG_OP IN ('INSERT', 'UPDATE') THEN\n        course_ids := course_ids || NEW.course_id;\n        feedback_types := feedback_types || NEW.feedback_type;\n        ratings := ratings || NEW.rating;\n    END IF;\n\n    -- Groups are locked in a fixed order so that two writers moving rows\n    -- between the same groups cannot deadlock.\n    FOR touched IN\n        SELECT DISTINCT g.course_id, g.feedback_type, g.rating\n        FROM unnest(course_ids, feedback_types, ratings) AS g(course_id, feedback_type, rating)\n        WHERE g.rating IS NOT NULL\n        ORDER BY g.course_id, g.feedback_type, g.rating\n    LOOP\n        PERFORM pg_catalog.pg_advisory_xact_lock(\n            pg_catalog.hashtextextended(\n                pg_catalog.concat_ws(\n                    '/', 'user_annotations consensus',\n                    touched.course_id, touched.feedback_type, touched.rating\n                ),\n                0\n            )\n        );\n        UPDATE public.user_annotations ua\n        SET consensus_count = tally.learners\n        FROM (\n            SELECT pg_catalog.count(DISTINCT a.user_id)::integer AS learners\n            FROM public.user_annotations a\n            WHERE a.course_id = touched.course_id\n              AND a.feedback_type = touched.feedback_type\n              AND a.rating = touched.rating\n              AND NOT a.processed\n        ) tally\n        WHERE ua.course_id = touched.course_id\n          AND ua.feedback_type = touched.feedback_type\n          AND ua.rating = touched.rating\n          AND NOT ua.processed\n          AND ua.consensus_count <> tally.learners;\n    END LOOP;\n    RETURN NULL;\nEND;\n$$",
    )
    op.drop_entity(public_check_feedback_consensus)

    public_enforce_document_status_transition = PGFunction(
        schema="public",
        signature="enforce_document_status_transition()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nDECLARE\n    previous public.processing_status_enum :=\n        CASE WHEN TG_OP = 'UPDATE' THEN OLD.processing_status END;\n    allowed boolean;\nBEGIN\n    IF TG_OP = 'INSERT' AND NEW.processing_status <> 'pending' THEN\n        RAISE EXCEPTION 'a new course document must be pending, not %', NEW.processing_status\n            USING ERRCODE = 'check_violation',\n                  CONSTRAINT = 'course_documents_processing_status_transition',\n                  TABLE = 'course_documents';\n    END IF;\n\n    IF TG_OP = 'UPDATE' AND NEW.processing_status IS DISTINCT FROM previous THEN\n        allowed := CASE previous\n            WHEN 'pending' THEN NEW.processing_status = 'processing'\n            WHEN 'processing' THEN NEW.processing_status IN ('completed', 'failed')\n            WHEN 'failed' THEN NEW.processing_status = 'pending'\n            ELSE false\n        END;\n        IF NOT allowed THEN\n            RAISE EXCEPTION 'processing_status cannot go from % to % (document %)',\n                previous, NEW.processing_status, NEW.document_id\n                USING ERRCODE = 'check_violation',\n                      CONSTRAINT = 'course_documents_processing_status_transition',\n                      TABLE = 'course_documents',\n                      HINT = 'allowed\\: pending -> processing -> completed | failed, failed -> pending';\n        END IF;\n\n        CASE NEW.processing_status\n            WHEN 'completed' THEN\n                NEW.processed_at := now();\n                NEW.error_message := NULL;\n            WHEN 'pending' THEN\n                NEW.processed_at := NULL;\n                NEW.error_message := NULL;\n            ELSE\n                NULL;\n        END CASE;\n    END IF;\n\n    IF NEW.processing_status = 'failed' AND coalesce(btrim(NEW.error_message), '') = '' THEN\n        RAISE EXCEPTION 'a failed course document needs an error_message (document %)',\n            NEW.document_id\n            USING ERRCODE = 'check_violation',\n                  CONSTRAINT = 'course_documents_failed_error_message',\n                  TABLE = 'course_documents';\n    END IF;\n    RETURN NEW;\nEND;\n$$",
    )
    op.drop_entity(public_enforce_document_status_transition)

    public_reject_audit_log_change = PGFunction(
        schema="public",
        signature="reject_audit_log_change()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    RAISE EXCEPTION 'audit_log is append-only\\: % is not allowed', TG_OP\n        USING ERRCODE = 'insufficient_privilege', TABLE = 'audit_log';\nEND;\n$$",
    )
    op.drop_entity(public_reject_audit_log_change)

    public_record_audit = PGFunction(
        schema="public",
        signature="record_audit()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY DEFINER\nSET search_path = ''\nAS $$\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN pg_catalog.to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN pg_catalog.to_jsonb(NEW) END;\n    session_role text := pg_catalog.current_setting('role');\nBEGIN\n    IF TG_OP = 'UPDATE' AND old_row = new_row THEN\n        RETURN NULL;\n    END IF;\n    INSERT INTO public.audit_log\n        (table_name, operation, record_id, old_row, new_row, acting_user_id, database_role)\n    VALUES (\n        TG_TABLE_NAME,\n        TG_OP,\n        (coalesce(new_row, old_row) ->> TG_ARGV[0])::uuid,\n        old_row,\n        new_row,\n        nullif(pg_catalog.current_setting('app.current_user_id', true), '')::uuid,\n        CASE WHEN session_role = 'none' THEN SESSION_USER::text ELSE session_role END\n    );\n    RETURN NULL;\nEND;\n$$",
    )
    op.drop_entity(public_record_audit)
