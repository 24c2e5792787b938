/**
 * Names the learner the current transaction acts for; every learner policy
 * reads it back through public.current_learner_id().
 *
 * Transaction-scoped (set_config(..., true)), unlike a session-wide SET: on a
 * pooled connection the identity ends with the transaction, committed or
 * rolled back, and never reaches the next request. It must therefore be called
 * inside the transaction it is for; called in autocommit it lasts one statement.
 * NULL clears the context: a transaction without one sees no learner rows.
 *
 * Beside the learner it records the transaction it was called in (its start
 * time, app.current_user_txn), which current_learner_id() checks: a value of
 * app.current_user_id left by a session-level SET, in this or an earlier
 * transaction on a pooled server connection, names no one. Needs no write, so
 * it works in a read-only transaction and on a hot standby.
 *
 * SECURITY INVOKER: it only sets values the caller could set with set_config
 * itself. The database trusts the API to name the learner it authenticated;
 * what it guarantees is that nothing else is visible under that name.
 *
 * PL/pgSQL, not SQL, because every request calls it: an SQL function that
 * cannot be inlined (its SET search_path) is parsed and planned again at each
 * call, which cost about 20 µs of server CPU per request; PL/pgSQL compiles
 * it once per session (docs/BENCHMARKS.md).
 */
CREATE OR REPLACE FUNCTION public.set_current_user_id(p_user_id uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM
        pg_catalog.set_config('app.current_user_id', coalesce(CAST(p_user_id AS text), ''), true),
        pg_catalog.set_config(
            'app.current_user_txn',
            CAST(EXTRACT(epoch FROM pg_catalog.transaction_timestamp()) AS text),
            true
        );
END;
$$;

/**
 * The learner the current transaction acts for, or NULL: the one source of the
 * request context for every learner policy, written as the InitPlan
 *     user_id = (SELECT public.current_learner_id())
 * (evaluated once per statement; user_id = <a value> uses the index).
 *
 * Only a learner named by set_current_user_id() in this very transaction
 * counts: app.current_user_txn must hold this transaction's start time. A
 * missing, empty or stale context (a session-level SET, a value set by hand)
 * is NULL, which matches no row: reads return nothing and writes fail their
 * WITH CHECK.
 *
 * PL/pgSQL on purpose, so that the planner never inlines it. Inlined (it was
 * an SQL function at revision 4fd31078d7ea), its body was fetched, parsed and
 * copied into every policy of every statement at planning, which costs more
 * than the one call per policy and statement it saves: with no server-side
 * prepared statements (our engines' default, as through PgBouncer) a course
 * lookup took 0.194 ms at the median as an SQL function and 0.174 ms as this
 * one, get_course_stats (six tables under policies, re-planned at every call)
 * 0.673 and 0.559 ms (side by side, alternating, on the development data).
 * With prepared statements on a direct connection, where nothing is
 * re-planned, the lookup pays the call instead: 0.130 against 0.152 ms.
 */
CREATE OR REPLACE FUNCTION public.current_learner_id()
RETURNS uuid
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE
        WHEN pg_catalog.current_setting('app.current_user_txn', true)
            OPERATOR(pg_catalog.=)
            CAST(EXTRACT(epoch FROM pg_catalog.transaction_timestamp()) AS pg_catalog.text)
        THEN CAST(NULLIF(pg_catalog.current_setting('app.current_user_id', true), '') AS pg_catalog.uuid)
    END;
END;
$$;
