/**
 * Guards the processing pipeline's state machine on course_documents:
 *
 *   pending -> processing -> completed
 *                         -> failed -> pending (a retry)
 *
 * A document is created pending; any other transition is refused with
 * SQLSTATE 23514 (check_violation), constraint
 * course_documents_processing_status_transition, and a message naming both
 * states. Moving to completed stamps processed_at and clears error_message;
 * a failed document must say why (a non-blank error_message, constraint
 * course_documents_failed_error_message); a retry clears error_message and
 * processed_at. Updates that leave the status alone are not transitions.
 */
CREATE OR REPLACE FUNCTION public.enforce_document_status_transition()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    previous public.processing_status_enum :=
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.processing_status END;
    allowed boolean;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.processing_status <> 'pending' THEN
        RAISE EXCEPTION 'a new course document must be pending, not %', NEW.processing_status
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'course_documents_processing_status_transition',
                  TABLE = 'course_documents';
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.processing_status IS DISTINCT FROM previous THEN
        allowed := CASE previous
            WHEN 'pending' THEN NEW.processing_status = 'processing'
            WHEN 'processing' THEN NEW.processing_status IN ('completed', 'failed')
            WHEN 'failed' THEN NEW.processing_status = 'pending'
            ELSE false
        END;
        IF NOT allowed THEN
            RAISE EXCEPTION 'processing_status cannot go from % to % (document %)',
                previous, NEW.processing_status, NEW.document_id
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'course_documents_processing_status_transition',
                      TABLE = 'course_documents',
                      HINT = 'allowed: pending -> processing -> completed | failed, failed -> pending';
        END IF;

        CASE NEW.processing_status
            WHEN 'completed' THEN
                NEW.processed_at := now();
                NEW.error_message := NULL;
            WHEN 'pending' THEN
                NEW.processed_at := NULL;
                NEW.error_message := NULL;
            ELSE
                NULL;
        END CASE;
    END IF;

    IF NEW.processing_status = 'failed' AND coalesce(btrim(NEW.error_message), '') = '' THEN
        RAISE EXCEPTION 'a failed course document needs an error_message (document %)',
            NEW.document_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'course_documents_failed_error_message',
                  TABLE = 'course_documents';
    END IF;
    RETURN NEW;
END;
$$;

/** Every write to a document passes the state machine. */
CREATE TRIGGER enforce_document_status_transition
    BEFORE INSERT OR UPDATE ON public.course_documents
    FOR EACH ROW
    EXECUTE FUNCTION public.enforce_document_status_transition();
