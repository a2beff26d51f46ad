-- Passkeys, TOTP, recovery codes, the per-user "MFA required" flag and
-- short-lived per-session state (WebAuthn ceremonies, a pending second
-- factor).
ALTER TABLE users ADD COLUMN mfa_required BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE passkeys (
    id             UUID        PRIMARY KEY,
    user_id        UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  TEXT        NOT NULL UNIQUE,
    name           TEXT        NOT NULL,
    passkey        TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE totp_secrets (
    user_id        UUID        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed  TEXT        NOT NULL,
    confirmed_at   TIMESTAMPTZ,
    last_step      BIGINT,
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE recovery_codes (
    user_id     UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT        NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE session_states (
    session_id_hash  TEXT        NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    kind             TEXT        NOT NULL,
    payload          TEXT        NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id_hash, kind)
);
CREATE INDEX session_states_expiry ON session_states (expires_at);
