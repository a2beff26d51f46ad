-- Signing keys (JWKS) and leases. The private key is stored sealed (JWE,
-- dir + A256GCM, kid bound as associated data); never in plaintext.
CREATE TABLE signing_keys (
    kid                 TEXT        PRIMARY KEY,
    alg                 TEXT        NOT NULL CHECK (alg IN ('RS256', 'ES256', 'EdDSA')),
    state               TEXT        NOT NULL CHECK (state IN ('staged', 'active', 'retired', 'revoked')),
    created_at          TIMESTAMPTZ NOT NULL,
    activates_at        TIMESTAMPTZ NOT NULL,
    retired_at          TIMESTAMPTZ,
    public_jwk          TEXT        NOT NULL,
    sealed_private_key  TEXT        NOT NULL
);
-- At most one staged and one active key per algorithm: a second instance
-- racing to rotate gets a conflict instead of a second key.
CREATE UNIQUE INDEX signing_keys_one_staged ON signing_keys (alg) WHERE state = 'staged';
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE state = 'active';

-- Leases: exactly one instance holds a named job (key rotation) at a time.
CREATE TABLE leases (
    name        TEXT        PRIMARY KEY,
    holder      TEXT        NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
