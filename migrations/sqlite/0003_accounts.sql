-- Accounts, sessions, brute-force counters and first-admin setup tokens.
-- Instants are unix seconds (INTEGER); ids and JSON are TEXT.
CREATE TABLE users (
    id              TEXT    PRIMARY KEY,
    username        TEXT    NOT NULL,
    username_norm   TEXT    NOT NULL UNIQUE,
    email           TEXT    NOT NULL,
    email_norm      TEXT    NOT NULL UNIQUE,
    email_verified  INTEGER NOT NULL DEFAULT 0,
    display_name    TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0,
    roles           TEXT    NOT NULL DEFAULT '[]',
    password_hash   TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
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

CREATE TABLE rate_limits (
    key            TEXT    PRIMARY KEY,
    failures       INTEGER NOT NULL,
    blocked_until  INTEGER,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash  TEXT    PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);
