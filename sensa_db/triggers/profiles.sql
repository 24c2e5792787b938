/**
 * Guards user_profiles.interests, which feeds analogy generation: a JSON
 * array of at most 50 distinct, non-blank strings of at most 100 characters
 * each. A value that breaks a rule is refused with SQLSTATE 23514
 * (check_violation); the constraint name and the message say which rule:
 *
 *   user_profiles_interests_is_array      not a JSON array
 *   user_profiles_interests_at_most_50    more than 50 entries
 *   user_profiles_interests_are_strings   an entry is not a string
 *   user_profiles_interests_not_blank     an entry is empty or only spaces
 *   user_profiles_interests_max_length    an entry is longer than 100 characters
 *   user_profiles_interests_distinct      an entry appears twice
 *
 * A trigger rather than a CHECK constraint so that the error names the rule
 * broken (a CHECK can only say that its whole expression was false).
 */
CREATE OR REPLACE FUNCTION public.validate_user_interests()
RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    broken_rule text;
    message text;
BEGIN
    IF jsonb_typeof(NEW.interests) <> 'array' THEN
        broken_rule := 'is_array';
        message := format('interests must be a JSON array, not a JSON %s', jsonb_typeof(NEW.interests));
    ELSIF jsonb_array_length(NEW.interests) > 50 THEN
        broken_rule := 'at_most_50';
        message := format('interests may hold at most 50 entries, not %s', jsonb_array_length(NEW.interests));
    ELSIF EXISTS (
        SELECT FROM jsonb_array_elements(NEW.interests) AS e(value)
        WHERE jsonb_typeof(e.value) <> 'string'
    ) THEN
        broken_rule := 'are_strings';
        message := 'every interest must be a string';
    ELSIF EXISTS (
        SELECT FROM jsonb_array_elements_text(NEW.interests) AS e(value)
        WHERE btrim(e.value) = ''
    ) THEN
        broken_rule := 'not_blank';
        message := 'an interest must not be empty or blank';
    ELSIF EXISTS (
        SELECT FROM jsonb_array_elements_text(NEW.interests) AS e(value)
        WHERE char_length(e.value) > 100
    ) THEN
        broken_rule := 'max_length';
        message := 'an interest may be at most 100 characters long';
    ELSIF (SELECT count(DISTINCT e.value) FROM jsonb_array_elements_text(NEW.interests) AS e(value))
          <> jsonb_array_length(NEW.interests) THEN
        broken_rule := 'distinct';
        message := 'interests must not repeat an entry';
    END IF;

    IF broken_rule IS NOT NULL THEN
        RAISE EXCEPTION '%', message
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'user_profiles_interests_' || broken_rule,
                  TABLE = 'user_profiles',
                  COLUMN = 'interests';
    END IF;
    RETURN NEW;
END;
$$;

/** Every profile written passes the interests rules. */
CREATE TRIGGER validate_user_interests
    BEFORE INSERT OR UPDATE OF interests ON public.user_profiles
    FOR EACH ROW
    EXECUTE FUNCTION public.validate_user_interests();
