-- Sessions get a public id (`sid` in tokens) distinct from the secret cookie
-- value, stable across re-authentication. Existing sessions are dropped:
-- everyone signs in again once after this upgrade.
DROP TABLE sessions;
CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
    sid           TEXT    NOT NULL UNIQUE,
    csrf_token    TEXT    NOT NULL,
    user_id       TEXT    REFERENCES users (id) ON DELETE CASCADE,
    auth_time     INTEGER,
    amr           TEXT    NOT NULL DEFAULT '[]',
    acr           TEXT,
    ip            TEXT,
    user_agent    TEXT,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_created ON sessions (created_at);
