-- Identities at upstream identity providers linked to accounts (issue 19).
-- An identity is (issuer, subject), never an email: at most one account
-- holds it. `upstream_id` is the `[[upstreams]]` entry it was linked through;
-- `email` what that upstream asserted at the link, for the account page.
CREATE TABLE upstream_identities (
    issuer           TEXT        NOT NULL,
    subject          TEXT        NOT NULL,
    upstream_id      TEXT        NOT NULL,
    user_id          UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email            TEXT,
    linked_at        TIMESTAMPTZ NOT NULL,
    last_sign_in_at  TIMESTAMPTZ,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX upstream_identities_user ON upstream_identities (user_id);
