-- The device authorization grant (RFC 8628): one row per device
-- authorization, found by its device code (at the token endpoint) or by
-- its user code (on /device), both stored as SHA-256. The user code is
-- unique among the rows kept (the sweeper deletes expired ones). The grant
-- is created when the user approves.
CREATE TABLE device_authorizations (
    device_code_hash  TEXT        PRIMARY KEY,
    user_code_hash    TEXT        NOT NULL UNIQUE,
    client_id         TEXT        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scopes            TEXT[]      NOT NULL,
    status            TEXT        NOT NULL,
    grant_id          TEXT        REFERENCES grants (id) ON DELETE CASCADE,
    interval_secs     BIGINT      NOT NULL,
    last_polled_at    TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,
    decided_at        TIMESTAMPTZ,
    redeemed_at       TIMESTAMPTZ
);
CREATE INDEX device_authorizations_expires ON device_authorizations (expires_at);
