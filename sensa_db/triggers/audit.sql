/**
 * Records every change to a learner-owned row in audit_log: the table, the
 * operation, the row's primary key (the column named by the trigger's
 * argument), the old and new row as jsonb, the learner the application acted
 * for (public.current_learner_id(), NULL when unset), the database role that made
 * the change and the time. An UPDATE that changes nothing is not recorded.
 *
 * SECURITY DEFINER, so that the row is written even though the application's
 * roles hold no INSERT right on audit_log (they must not be able to forge
 * entries). Its owner, sensa_audit_writer, may append to audit_log and do
 * nothing else. It cannot leak rows: it returns nothing and reads only the row
 * being written, which the caller supplied. Because it runs as its owner,
 * the acting role is taken from the session (SET ROLE, else the login role)
 * rather than current_user. Every name is qualified and the path lists pg_temp
 * last, so no caller's temporary type or table can stand in for one.
 */
CREATE OR REPLACE FUNCTION public.record_audit()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN pg_catalog.to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN pg_catalog.to_jsonb(NEW) END;
    session_role text := pg_catalog.current_setting('role');
BEGIN
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.audit_log
        (table_name, operation, record_id, old_row, new_row, acting_user_id, database_role)
    VALUES (
        TG_TABLE_NAME,
        TG_OP,
        (coalesce(new_row, old_row) ->> TG_ARGV[0])::uuid,
        old_row,
        new_row,
        public.current_learner_id(),
        CASE WHEN session_role = 'none' THEN SESSION_USER::text ELSE session_role END
    );
    RETURN NULL;
END;
$$;

/** Changes to learner profiles are audited. */
CREATE TRIGGER audit_user_profiles_changes
    AFTER INSERT OR UPDATE OR DELETE ON public.user_profiles
    FOR EACH ROW
    EXECUTE FUNCTION public.record_audit('profile_id');

/** Changes to courses are audited. */
CREATE TRIGGER audit_courses_changes
    AFTER INSERT OR UPDATE OR DELETE ON public.courses
    FOR EACH ROW
    EXECUTE FUNCTION public.record_audit('course_id');

/** Changes to feedback on courses are audited. */
CREATE TRIGGER audit_user_annotations_changes
    AFTER INSERT OR UPDATE OR DELETE ON public.user_annotations
    FOR EACH ROW
    EXECUTE FUNCTION public.record_audit('annotation_id');

/** Changes to feedback on analogies are audited. */
CREATE TRIGGER audit_analogy_feedback_changes
    AFTER INSERT OR UPDATE OR DELETE ON public.analogy_feedback
    FOR EACH ROW
    EXECUTE FUNCTION public.record_audit('feedback_id');

/** Changes to learners' progress are audited. */
CREATE TRIGGER audit_user_progress_changes
    AFTER INSERT OR UPDATE OR DELETE ON public.user_progress
    FOR EACH ROW
    EXECUTE FUNCTION public.record_audit('progress_id');

/**
 * Makes audit_log append-only for everyone, whatever their grants: UPDATE,
 * DELETE and TRUNCATE are refused with SQLSTATE 42501. Purging old entries is
 * a deliberate owner's act (ALTER TABLE ... DISABLE TRIGGER, in a revision).
 */
CREATE OR REPLACE FUNCTION public.reject_audit_log_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege', TABLE = 'audit_log';
END;
$$;

/** Refuses any statement that would rewrite or remove audit history. */
CREATE TRIGGER audit_log_is_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON public.audit_log
    FOR EACH STATEMENT
    EXECUTE FUNCTION public.reject_audit_log_change();
