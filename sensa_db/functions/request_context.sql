/**
 * Names the learner the current transaction acts for; every learner policy
 * reads it back as
 *     (SELECT nullif(current_setting('app.current_user_id', true), '')::uuid)
 *
 * Transaction-scoped (set_config(..., true)), unlike a session-wide SET: on a
 * pooled connection the identity ends with the transaction, committed or
 * rolled back, and never reaches the next request. It must therefore be called
 * inside the transaction it is for; called in autocommit it lasts one statement.
 * NULL clears the context: a transaction without one sees no learner rows.
 *
 * SECURITY INVOKER: it only sets a value the caller could set with set_config
 * itself. The database trusts the API to name the learner it authenticated;
 * what it guarantees is that nothing else is visible under that name.
 */
CREATE OR REPLACE FUNCTION public.set_current_user_id(p_user_id uuid)
RETURNS void
LANGUAGE sql
VOLATILE
SECURITY INVOKER
SET search_path = ''
AS $$
    SELECT pg_catalog.set_config('app.current_user_id', coalesce(p_user_id::text, ''), true);
$$;
