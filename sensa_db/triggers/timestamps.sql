/**
 * Stamps updated_at with the transaction's time on every UPDATE that changes
 * the row, so that writes from SQL, the worker and the API all agree and no
 * client can back-date a row: a value the UPDATE itself supplies is
 * overwritten. A no-op UPDATE (every column unchanged) leaves it alone, which
 * is what the triggers' WHEN clause decides.
 */
CREATE OR REPLACE FUNCTION public.update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

/** users.updated_at follows every real change to a user. */
CREATE TRIGGER update_users_updated_at
    BEFORE UPDATE ON public.users
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION public.update_updated_at_column();

/** user_profiles.updated_at follows every real change to a profile. */
CREATE TRIGGER update_user_profiles_updated_at
    BEFORE UPDATE ON public.user_profiles
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION public.update_updated_at_column();

/** courses.updated_at follows every real change to a course. */
CREATE TRIGGER update_courses_updated_at
    BEFORE UPDATE ON public.courses
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION public.update_updated_at_column();
