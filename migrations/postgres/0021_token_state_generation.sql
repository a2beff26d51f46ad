-- The token-state generation, shared by every instance: a counter that each
-- transaction able to make a valid access token invalid, or to change what
-- userinfo answers, moves as it commits (the tables and events of 0010 and
-- 0012). An instance reads it once per token check and trusts its cached
-- state of a token only while the counter has not moved since that state
-- was read, so a change committed anywhere is seen by the very next request
-- on every instance (the notification of 0010 arrives asynchronously: it
-- left a window of milliseconds). The notification stays for instances of
-- the previous version during a rolling upgrade.
--
-- The counter is moved by deferred constraint triggers, i.e. at commit,
-- after the transaction's last statement: the row lock on the counter is
-- the last lock a transaction takes, so transactions queue on it only for
-- their commit and can never deadlock over it. A transaction moves it once
-- (a transaction-local setting remembers that it did).
CREATE TABLE token_state_generation (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO token_state_generation (id, n) VALUES (1, 0);

CREATE FUNCTION portcullis_token_state_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('portcullis.token_state_moved', true) IS DISTINCT FROM 'yes' THEN
        UPDATE token_state_generation SET n = n + 1 WHERE id = 1;
        PERFORM set_config('portcullis.token_state_moved', 'yes', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER grants_token_generation AFTER UPDATE OR DELETE ON grants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_token_state_moved();
CREATE CONSTRAINT TRIGGER sessions_token_generation AFTER DELETE ON sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_token_state_moved();
CREATE CONSTRAINT TRIGGER users_token_generation AFTER UPDATE OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_token_state_moved();
CREATE CONSTRAINT TRIGGER jtis_token_generation AFTER INSERT OR UPDATE ON jtis
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_token_state_moved();
CREATE CONSTRAINT TRIGGER groups_token_generation AFTER UPDATE OR DELETE ON groups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_token_state_moved();
CREATE CONSTRAINT TRIGGER group_members_token_generation AFTER INSERT OR DELETE ON group_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_token_state_moved();
