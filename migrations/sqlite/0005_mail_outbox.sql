-- The durable mail outbox: rendered mails waiting for the worker.
-- Instants are unix seconds (INTEGER).
CREATE TABLE mail_outbox (
    id               TEXT    PRIMARY KEY,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body_text        TEXT    NOT NULL,
    body_html        TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    sent_at          INTEGER,
    last_error       TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
