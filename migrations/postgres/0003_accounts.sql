-- Accounts, sessions, brute-force counters and first-admin setup tokens.
CREATE TABLE users (
    id              UUID        PRIMARY KEY,
    username        TEXT        NOT NULL,
    username_norm   TEXT        NOT NULL UNIQUE,
    email           TEXT        NOT NULL,
    email_norm      TEXT        NOT NULL UNIQUE,
    email_verified  BOOLEAN     NOT NULL DEFAULT FALSE,
    display_name    TEXT,
    disabled        BOOLEAN     NOT NULL DEFAULT FALSE,
    roles           TEXT[]      NOT NULL DEFAULT '{}',
    password_hash   TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id_hash       TEXT        PRIMARY KEY,
    csrf_token    TEXT        NOT NULL,
    user_id       UUID        REFERENCES users (id) ON DELETE CASCADE,
    auth_time     TIMESTAMPTZ,
    amr           TEXT[]      NOT NULL DEFAULT '{}',
    acr           TEXT,
    ip            TEXT,
    user_agent    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_created ON sessions (created_at);

CREATE TABLE rate_limits (
    key            TEXT        PRIMARY KEY,
    failures       INTEGER     NOT NULL,
    blocked_until  TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash  TEXT        PRIMARY KEY,
    expires_at  TIMESTAMPTZ NOT NULL
);
