-- DPoP (RFC 9449): a client may require DPoP-bound access tokens, and a
-- public client's refresh tokens are bound to the key (its RFC 7638
-- thumbprint, base64url) that proved possession when the family began.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
