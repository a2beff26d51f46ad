-- Clients managed at run time (the admin console, the command line): a
-- rotated secret overlaps with its successor until an instant, a client
-- may be disabled, and a client may be marked for the admin API.
ALTER TABLE clients ADD COLUMN previous_secret_sha256 TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at TIMESTAMPTZ;
ALTER TABLE clients ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN admin_api BOOLEAN NOT NULL DEFAULT FALSE;
