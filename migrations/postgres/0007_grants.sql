-- The protocol's state: pending authorization requests, consents, grants
-- with their codes and refresh tokens (hashed), one-time JWT ids and the
-- back-channel logout queue.
ALTER TABLE clients ADD COLUMN jwks TEXT;

CREATE TABLE auth_requests (
    id          TEXT        PRIMARY KEY,
    client_id   TEXT        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    request     TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX auth_requests_expires ON auth_requests (expires_at);

CREATE TABLE consents (
    user_id     UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scopes      TEXT[]      NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE grants (
    id             TEXT        PRIMARY KEY,
    client_id      TEXT        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id        UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid            TEXT,
    session_bound  BOOLEAN     NOT NULL,
    scopes         TEXT[]      NOT NULL,
    auth_time      TIMESTAMPTZ NOT NULL,
    amr            TEXT[]      NOT NULL,
    acr            TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX grants_sid ON grants (sid);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_expires ON grants (expires_at);

CREATE TABLE auth_codes (
    code_hash       TEXT        PRIMARY KEY,
    grant_id        TEXT        NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id       TEXT        NOT NULL,
    redirect_uri    TEXT        NOT NULL,
    code_challenge  TEXT        NOT NULL,
    nonce           TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    consumed_at     TIMESTAMPTZ
);
CREATE INDEX auth_codes_grant ON auth_codes (grant_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT        PRIMARY KEY,
    grant_id    TEXT        NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id   TEXT        NOT NULL,
    scopes      TEXT[]      NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    rotated_at  TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE jtis (
    key         TEXT        PRIMARY KEY,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX jtis_expires ON jtis (expires_at);

CREATE TABLE backchannel_logouts (
    id               TEXT        PRIMARY KEY,
    client_id        TEXT        NOT NULL,
    uri              TEXT        NOT NULL,
    user_id          UUID        NOT NULL,
    sid              TEXT        NOT NULL,
    attempts         INTEGER     NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    lease_until      TIMESTAMPTZ
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts (next_attempt_at);
