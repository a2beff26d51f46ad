-- Single-use links sent by mail: password reset, email verification (of a
-- new account or of a changed address) and magic-link sign-in. Only the
-- SHA-256 of each 256-bit token is stored.
CREATE TABLE email_tokens (
    token_hash    TEXT        PRIMARY KEY,
    purpose       TEXT        NOT NULL CHECK (purpose IN ('reset', 'verify_email', 'magic_link')),
    user_id       UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    new_email     TEXT,
    session_hash  TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires ON email_tokens (expires_at);
