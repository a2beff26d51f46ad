-- Append-only audit log.
CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    kind        TEXT        NOT NULL,
    outcome     TEXT        NOT NULL CHECK (outcome IN ('success', 'failure')),
    user_id     UUID,
    ip          TEXT,
    user_agent  TEXT,
    detail      JSONB       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
