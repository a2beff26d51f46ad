-- Pushed authorization requests (RFC 9126) and resource indicators (RFC 8707).
-- A client may be required to push its requests; it may ask for tokens for
-- the listed resource servers; a grant keeps the resources its authorization
-- named, which its tokens may be for. Pushed requests live in auth_requests
-- (no new table).
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN resources TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE grants ADD COLUMN resources TEXT[] NOT NULL DEFAULT '{}';
