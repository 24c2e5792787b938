/**
 * Keeps the learner's study streak: the number of consecutive calendar days,
 * in UTC, on which the learner studied anything, across all their chapters.
 *
 * Fires on every INSERT into user_progress (starting a chapter is activity)
 * and on every UPDATE that increases time_spent_seconds. The streak belongs to
 * the learner but is stored on each of their user_progress rows, so the
 * learner's state is read from all their rows (the latest last_activity_date,
 * the streak written with it, the highest longest_streak_days) and the new
 * learner-level values are written onto the row being changed. The learner's
 * row with the latest last_activity_date therefore always holds the current
 * streak; get_learner_streak() reads it.
 *
 *   no activity before          -> 1
 *   last activity today         -> unchanged
 *   last activity yesterday     -> + 1
 *   last activity 2+ days ago   -> 1
 *
 * longest_streak_days never falls below current_streak_days (the table's
 * CHECK). Fixes two defects of the design's version: it never started a
 * streak (NULL last_activity_date left it at 0) and it counted per chapter,
 * so studying a second chapter the same day looked like a new day.
 *
 * UTC, not the learner's zone: users carry no time zone, and a fixed zone
 * makes the streak the same whichever server or session computes it.
 *
 * SECURITY INVOKER: it reads only the acting learner's own rows, which
 * row-level security lets them see.
 */
CREATE OR REPLACE FUNCTION public.update_user_streak()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    last_day date;
    last_streak integer;
    best_streak integer;
BEGIN
    -- In a BEFORE UPDATE trigger the table still holds this row's old version,
    -- so it counts as one of the learner's rows; a row being inserted does not.
    SELECT up.last_activity_date, up.current_streak_days
    INTO last_day, last_streak
    FROM public.user_progress up
    WHERE up.user_id = NEW.user_id AND up.last_activity_date IS NOT NULL
    ORDER BY up.last_activity_date DESC, up.current_streak_days DESC
    LIMIT 1;

    SELECT coalesce(max(up.longest_streak_days), 0)
    INTO best_streak
    FROM public.user_progress up
    WHERE up.user_id = NEW.user_id;

    NEW.current_streak_days := CASE
        WHEN last_day IS NULL THEN 1
        WHEN last_day >= today THEN greatest(last_streak, 1)
        WHEN last_day = today - 1 THEN last_streak + 1
        ELSE 1
    END;
    NEW.longest_streak_days := greatest(best_streak, NEW.current_streak_days);
    NEW.last_activity_date := today;
    RETURN NEW;
END;
$$;

/** Starting a chapter is study activity. */
CREATE TRIGGER update_streak_on_progress_insert
    BEFORE INSERT ON public.user_progress
    FOR EACH ROW
    EXECUTE FUNCTION public.update_user_streak();

/** Time spent going up is study activity; other updates (completion, badges) are not. */
CREATE TRIGGER update_streak_on_progress
    BEFORE UPDATE OF time_spent_seconds ON public.user_progress
    FOR EACH ROW
    WHEN (NEW.time_spent_seconds > OLD.time_spent_seconds)
    EXECUTE FUNCTION public.update_user_streak();

/**
 * Keeps completed_at in step with completed: set to the transaction's time
 * when completed turns true, cleared when it turns false, left as it is
 * otherwise. A row inserted as completed keeps a completed_at it is given
 * (an import of past progress) and gets now() without one; a row inserted as
 * not completed has none.
 */
CREATE OR REPLACE FUNCTION public.set_chapter_completed_at()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.completed_at := CASE WHEN NEW.completed THEN coalesce(NEW.completed_at, now()) END;
    ELSIF NEW.completed AND NOT OLD.completed THEN
        NEW.completed_at := now();
    ELSIF OLD.completed AND NOT NEW.completed THEN
        NEW.completed_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;

/** completed_at follows completed on every insert and every change of completed. */
CREATE TRIGGER set_completed_at_on_progress
    BEFORE INSERT OR UPDATE OF completed ON public.user_progress
    FOR EACH ROW
    EXECUTE FUNCTION public.set_chapter_completed_at();
