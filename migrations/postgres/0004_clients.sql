-- Registered OAuth/OIDC clients. The secret is a hex SHA-256 only.
CREATE TABLE clients (
    client_id                     TEXT        PRIMARY KEY,
    name                          TEXT        NOT NULL,
    client_secret_sha256          TEXT,
    redirect_uris                 TEXT[]      NOT NULL DEFAULT '{}',
    post_logout_redirect_uris     TEXT[]      NOT NULL DEFAULT '{}',
    grant_types                   TEXT[]      NOT NULL DEFAULT '{}',
    token_endpoint_auth_method    TEXT        NOT NULL,
    scopes                        TEXT[]      NOT NULL DEFAULT '{}',
    require_consent               BOOLEAN     NOT NULL DEFAULT TRUE,
    backchannel_logout_uri        TEXT,
    id_token_signed_response_alg  TEXT        NOT NULL DEFAULT 'RS256',
    access_token_ttl_secs         BIGINT      NOT NULL,
    from_config                   BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at                    TIMESTAMPTZ NOT NULL,
    updated_at                    TIMESTAMPTZ NOT NULL
);
