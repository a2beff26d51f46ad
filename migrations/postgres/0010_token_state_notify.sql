-- Every instance keeps the state of recently checked access tokens in memory
-- (their grant, session, user and revocation). A change that can make such a
-- token invalid, or change what userinfo answers, notifies the channel
-- `portcullis_token_state` when its transaction commits; each instance listens
-- and drops what it holds. Session touches (last_seen_at) and new rows that
-- cannot invalidate anything do not notify.
CREATE FUNCTION portcullis_token_state_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portcullis_token_state', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER grants_token_state AFTER UPDATE OR DELETE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_token_state_changed();
CREATE TRIGGER sessions_token_state AFTER DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_token_state_changed();
CREATE TRIGGER users_token_state AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_token_state_changed();
CREATE TRIGGER jtis_token_state AFTER INSERT OR UPDATE ON jtis
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_token_state_changed();
