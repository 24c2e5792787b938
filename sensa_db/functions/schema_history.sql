/**
 * Where the schema stands, for an application's check at start-up
 * (sensa_db.database.check_schema): the revision the database is at
 * (alembic_version), and whether p_revision, the package's head, was applied
 * and not reverted since (migrations_log). A database at another revision
 * that applied p_revision has moved past it: it is ahead of the package; one
 * that never applied it is behind.
 *
 * SECURITY DEFINER, because the logins that run the application may read
 * neither table; it runs as sensa_revision_reader, which may read
 * alembic_version and three columns of migrations_log and nothing else, and
 * it cannot leak rows: it returns revision ids, which any login may know.
 */
CREATE OR REPLACE FUNCTION public.schema_revision(p_revision text)
RETURNS TABLE (current_revision text, revision_applied boolean)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        (SELECT pg_catalog.string_agg(v.version_num, ' ' ORDER BY v.version_num)
         FROM public.alembic_version v),
        coalesce(
            (SELECT l.direction = 'upgrade'
             FROM public.migrations_log l
             WHERE l.revision = p_revision
             ORDER BY l.migration_id DESC
             LIMIT 1),
            false
        );
$$;
