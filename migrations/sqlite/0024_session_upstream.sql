-- The upstream identity provider a session signed in through (issue 19):
-- the `[[upstreams]]` id, NULL for a local sign-in.
ALTER TABLE sessions ADD COLUMN upstream_id TEXT;
