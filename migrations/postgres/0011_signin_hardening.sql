-- The security review (issue 14).
-- A random stamp every change of the password or the email address replaces;
-- reset, magic and email-change links record the stamp they were issued
-- under and work only while it is unchanged (NULL: not bound, a new
-- account's verification link).
ALTER TABLE users ADD COLUMN security_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE email_tokens ADD COLUMN account_stamp TEXT;

-- "Mail me a link" requests (reset, magic link). The request path writes one
-- row whether or not the address names an account (user_id NULL then), so
-- both answers cost the same; the mail worker turns rows into a token and
-- a mail (or nothing) and deletes them.
CREATE TABLE link_requests (
    id            TEXT        PRIMARY KEY,
    purpose       TEXT        NOT NULL CHECK (purpose IN ('reset', 'magic_link')),
    user_id       UUID        REFERENCES users (id) ON DELETE CASCADE,
    session_hash  TEXT,
    resume        TEXT,
    ip            TEXT,
    user_agent    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    locked_until  TIMESTAMPTZ
);
CREATE INDEX link_requests_created ON link_requests (created_at);
