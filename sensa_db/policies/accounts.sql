/*
 * Row-level security for a learner's account: users and user_profiles.
 *
 * Every learner policy is TO sensa_app and reads the request context as
 *     (SELECT public.current_learner_id())
 * The sub-select makes it an InitPlan, evaluated once per statement instead of
 * once per row, and lets user_id = <it> use the index on user_id. The function
 * (sensa_db/functions/request_context.sql) is the one place that reads the
 * context: a missing, empty or stale one (a session-level SET) is NULL, which
 * matches no row, so reads return nothing (no error) and writes fail WITH
 * CHECK. The design's
 * current_setting('app.current_user_id') without missing_ok raised an error on
 * every read without a context, and its FOR ALL policies had no WITH CHECK.
 *
 * admin_role sees and writes every row (the design's admin bypass, as a
 * policy: no role has BYPASSRLS). sensa_worker has no grant on these tables.
 */

/** A learner reads their own account row only. */
CREATE POLICY user_isolation_select ON public.users
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/**
 * A learner's account row is created under their own id (the API picks the id,
 * sets the context to it, then inserts). users.role is not granted to
 * sensa_app, so the row starts as 'user'.
 */
CREATE POLICY user_isolation_insert ON public.users
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner updates their own account row and cannot give it another id. */
CREATE POLICY user_isolation_update ON public.users
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes their own account (and, by cascade, everything they own). */
CREATE POLICY user_isolation_delete ON public.users
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff administration of accounts. */
CREATE POLICY admin_users_access ON public.users
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** A learner reads their own profile only (design: user_profile_isolation). */
CREATE POLICY user_profile_isolation_select ON public.user_profiles
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner creates a profile for themselves only. */
CREATE POLICY user_profile_isolation_insert ON public.user_profiles
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner edits their own profile and cannot hand it to another learner. */
CREATE POLICY user_profile_isolation_update ON public.user_profiles
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes their own profile only. */
CREATE POLICY user_profile_isolation_delete ON public.user_profiles
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** The design's admin bypass on profiles, keeping its name. */
CREATE POLICY admin_all_access ON public.user_profiles
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);
