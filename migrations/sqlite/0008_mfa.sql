-- Passkeys, TOTP, recovery codes, the per-user "MFA required" flag and
-- short-lived per-session state (WebAuthn ceremonies, a pending second
-- factor). Instants are unix seconds.
ALTER TABLE users ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;

CREATE TABLE passkeys (
    id             TEXT    PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    passkey        TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE totp_secrets (
    user_id        TEXT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed  TEXT    NOT NULL,
    confirmed_at   INTEGER,
    last_step      INTEGER,
    created_at     INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT    NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE session_states (
    session_id_hash  TEXT    NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    kind             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    expires_at       INTEGER NOT NULL,
    PRIMARY KEY (session_id_hash, kind)
);
CREATE INDEX session_states_expiry ON session_states (expires_at);
