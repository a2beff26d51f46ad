-- The token-state generation, shared by every process that opens the file
-- (a second server, the `portcullis` CLI): a counter that each write able to
-- make a valid access token invalid, or to change what userinfo answers,
-- moves in its own transaction (the same tables and events as PostgreSQL's
-- triggers). The server reads it once per token check and trusts its cached
-- state of a token only while the counter has not moved since that state
-- was read. SQLite has one writer at a time, so the row lock cannot
-- deadlock; triggers are per row (moving it more than once is harmless).
CREATE TABLE token_state_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO token_state_generation (id, n) VALUES (1, 0);

CREATE TRIGGER grants_token_generation_u AFTER UPDATE ON grants
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grants_token_generation_d AFTER DELETE ON grants
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER sessions_token_generation_d AFTER DELETE ON sessions
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_token_generation_u AFTER UPDATE ON users
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_token_generation_d AFTER DELETE ON users
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER jtis_token_generation_i AFTER INSERT ON jtis
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER jtis_token_generation_u AFTER UPDATE ON jtis
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER groups_token_generation_u AFTER UPDATE ON groups
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER groups_token_generation_d AFTER DELETE ON groups
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_token_generation_i AFTER INSERT ON group_members
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_token_generation_d AFTER DELETE ON group_members
BEGIN UPDATE token_state_generation SET n = n + 1 WHERE id = 1; END;
