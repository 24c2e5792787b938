/*
 * Row-level security for what a learner records while learning: annotations
 * (design: feedback_isolation), progress (design: progress_isolation) and
 * analogy feedback.
 *
 * A row belongs to its user_id. Writes also require the course or chapter the
 * row names to be the learner's own (visible to them through its own policy):
 * otherwise a learner could attach feedback or progress to another learner's
 * course, and learn from the foreign key whether that course exists. Progress
 * is checked at its insert only: its course and chapter never change after it.
 *
 * That check is an EXISTS probe of the one course or chapter the row names, by
 * its primary key, under that table's own policy. It used to compare with an
 * array of every course and chapter the learner can see, built once per
 * statement: a progress heartbeat, the API's most frequent write, read all of
 * the learner's chapters (188 rows and 0.16 ms in one plan, for a learner with
 * 100 documents), a cost that grew with the learner's library.
 *
 * See accounts.sql for how the request context is read and why. sensa_worker
 * has no grant on these tables.
 */

/** A learner reads their own annotations only. */
CREATE POLICY feedback_isolation_select ON public.user_annotations
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner annotates their own courses, as themselves. */
CREATE POLICY feedback_isolation_insert ON public.user_annotations
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
        AND EXISTS (SELECT FROM public.courses c WHERE c.course_id = user_annotations.course_id)
    );

/** A learner edits their own annotations and cannot move one to another learner or course. */
CREATE POLICY feedback_isolation_update ON public.user_annotations
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
        AND EXISTS (SELECT FROM public.courses c WHERE c.course_id = user_annotations.course_id)
    );

/** A learner deletes their own annotations only. */
CREATE POLICY feedback_isolation_delete ON public.user_annotations
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff review of annotations. */
CREATE POLICY admin_user_annotations_access ON public.user_annotations
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/**
 * check_feedback_consensus() counts the distinct learners behind a rating
 * across every learner's annotations, so its owner, sensa_consensus, reads
 * them all. Nothing logs in as sensa_consensus. A policy applies to a role's
 * members too, and the migrating role is a member (to own and replace the
 * function), so the rows open only while the effective user IS
 * sensa_consensus: inside that function, never for a member by accident.
 */
CREATE POLICY consensus_tally_select ON public.user_annotations
    AS PERMISSIVE FOR SELECT TO sensa_consensus
    USING (current_user = 'sensa_consensus');

/** ... and writes back consensus_count (its only column grant) on every row of a group. */
CREATE POLICY consensus_tally_update ON public.user_annotations
    AS PERMISSIVE FOR UPDATE TO sensa_consensus
    USING (current_user = 'sensa_consensus')
    WITH CHECK (current_user = 'sensa_consensus');

/** A learner reads their own progress only. */
CREATE POLICY progress_isolation_select ON public.user_progress
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner records progress on chapters of their own courses, as themselves. */
CREATE POLICY progress_isolation_insert ON public.user_progress
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
        AND EXISTS (SELECT FROM public.courses c WHERE c.course_id = user_progress.course_id)
        AND EXISTS (SELECT FROM public.chapters ch WHERE ch.chapter_id = user_progress.chapter_id)
    );

/**
 * A learner updates their own progress. The row's course and chapter were
 * checked at its insert and cannot change: sensa_app may update the progress
 * columns only (sensa_db/security.py), so a heartbeat, the API's most frequent
 * write, probes no parent.
 */
CREATE POLICY progress_isolation_update ON public.user_progress
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (user_id = (SELECT public.current_learner_id()));

/** A learner deletes their own progress only. */
CREATE POLICY progress_isolation_delete ON public.user_progress
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff administration of progress. */
CREATE POLICY admin_user_progress_access ON public.user_progress
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);

/** A learner reads their own analogy feedback only. */
CREATE POLICY analogy_feedback_isolation_select ON public.analogy_feedback
    AS PERMISSIVE FOR SELECT TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** A learner rates analogies on chapters of their own courses, as themselves. */
CREATE POLICY analogy_feedback_isolation_insert ON public.analogy_feedback
    AS PERMISSIVE FOR INSERT TO sensa_app
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
        AND EXISTS (SELECT FROM public.chapters ch WHERE ch.chapter_id = analogy_feedback.chapter_id)
    );

/** A learner edits their own analogy feedback and cannot move it to another learner's data. */
CREATE POLICY analogy_feedback_isolation_update ON public.analogy_feedback
    AS PERMISSIVE FOR UPDATE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()))
    WITH CHECK (
        user_id = (SELECT public.current_learner_id())
        AND EXISTS (SELECT FROM public.chapters ch WHERE ch.chapter_id = analogy_feedback.chapter_id)
    );

/** A learner deletes their own analogy feedback only. */
CREATE POLICY analogy_feedback_isolation_delete ON public.analogy_feedback
    AS PERMISSIVE FOR DELETE TO sensa_app
    USING (user_id = (SELECT public.current_learner_id()));

/** Staff review of analogy feedback. */
CREATE POLICY admin_analogy_feedback_access ON public.analogy_feedback
    AS PERMISSIVE FOR ALL TO admin_role
    USING (true)
    WITH CHECK (true);
