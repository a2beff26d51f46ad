//! Registered OAuth/OIDC clients, as stored. The typed model and its rules
//! live in `portcullis-protocol` (`Client`); this row keeps plain values.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Effects, StoreError};

/// A stored client. Lists keep their order; the secret is only ever a SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The public identifier (primary key).
    pub client_id: String,
    /// A name to show on the consent page.
    pub name: String,
    /// Lowercase hex SHA-256 of the secret; `None` for public clients.
    pub client_secret_sha256: Option<String>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grant types (`authorization_code`, …).
    pub grant_types: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: String,
    /// The scopes the client may ask for.
    pub scopes: Vec<String>,
    /// Whether users must consent.
    pub require_consent: bool,
    /// Where Back-Channel Logout tokens go.
    pub backchannel_logout_uri: Option<String>,
    /// The client's public keys (a JWKS document, JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// ID token signing algorithm (`RS256`, `ES256`, `EdDSA`).
    pub id_token_signed_response_alg: String,
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: i64,
    /// Declared in configuration (synced at start) rather than created at run time.
    pub from_config: bool,
    /// Lowercase hex SHA-256 of the secret the last rotation replaced, accepted
    /// until `previous_secret_expires_at`.
    pub previous_secret_sha256: Option<String>,
    /// The end of the previous secret's overlap.
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    /// Refused everywhere until enabled again.
    pub disabled: bool,
    /// May use the admin API (not yet granted anything).
    pub admin_api: bool,
    /// Web origins allowed to call the token-side endpoints (CORS), as
    /// browsers send them (`https://app.example`).
    pub allowed_origins: Vec<String>,
    /// Every access token must be DPoP-bound (RFC 9449 §5.2): token
    /// requests without a proof are refused.
    pub dpop_bound_access_tokens: bool,
    /// Must push its authorization requests (RFC 9126 §5): `/authorize`
    /// without a pushed `request_uri` is refused.
    pub require_pushed_authorization_requests: bool,
    /// The identifiers of the resource servers (RFC 8707) it may ask tokens for.
    pub resources: Vec<String>,
    /// Creation instant (kept by upserts).
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("client_secret_sha256", &self.client_secret_sha256.as_ref().map(|_| "[redacted]"))
            .field("previous_secret_sha256", &self.previous_secret_sha256.as_ref().map(|_| "[redacted]"))
            .field("previous_secret_expires_at", &self.previous_secret_expires_at)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("token_endpoint_auth_method", &self.token_endpoint_auth_method)
            .field("from_config", &self.from_config)
            .field("disabled", &self.disabled)
            .field("admin_api", &self.admin_api)
            .field("allowed_origins", &self.allowed_origins)
            .field("dpop_bound_access_tokens", &self.dpop_bound_access_tokens)
            .field("require_pushed_authorization_requests", &self.require_pushed_authorization_requests)
            .field("resources", &self.resources)
            .finish_non_exhaustive()
    }
}

/// Registered clients.
#[async_trait]
pub trait ClientRepo {
    /// Creates a client; `Conflict` when the id is taken.
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError>;

    /// Creates or replaces the client with this id, keeping its `created_at`
    /// (used to sync configuration-declared clients at start).
    async fn upsert_client(&self, client: &ClientRecord) -> Result<(), StoreError>;

    /// The client with this id, if any.
    async fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;

    /// Every client, by id.
    async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError>;

    /// Deletes a client; `NotFound` for an unknown id.
    async fn delete_client(&self, client_id: &str) -> Result<(), StoreError>;

    /// Registers a client at run time (the console, the command line) with
    /// `effects` (its audit event) in one transaction; `Conflict` when the
    /// id is taken.
    async fn register_client(&self, client: &ClientRecord, effects: &Effects<'_>) -> Result<(), StoreError>;

    /// Gives the run-time client `client_id` the secret `new_sha256`. With
    /// `previous_until`, the secret it replaces stays accepted until then;
    /// without, it is dropped (and so is any earlier previous secret).
    /// `NotFound` for an unknown client, one declared in configuration, or
    /// one without a secret; `effects` commit with the change.
    async fn rotate_client_secret(
        &self,
        client_id: &str,
        new_sha256: &str,
        previous_until: Option<OffsetDateTime>,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError>;

    /// Disables (or enables) the run-time client `client_id`, with
    /// `effects`; `NotFound` for an unknown client or one declared in
    /// configuration.
    async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError>;

    /// Deletes the run-time client `client_id` and everything that hangs
    /// off it — its grants with their codes and refresh tokens (so the
    /// access tokens of those grants stop validating too), consents,
    /// pending requests —
    /// with `effects`, in one transaction. Returns how many grants were
    /// live (the audit events get them as `grants_revoked`); `NotFound` for
    /// an unknown client or one declared in configuration.
    async fn unregister_client(
        &self,
        client_id: &str,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<u64, StoreError>;

    /// A counter this store instance advances after every client it creates,
    /// replaces or deletes, so that caches of clients (the protocol's
    /// `ClientCache`) drop what they hold at once. Changes made elsewhere
    /// (another instance, the CLI) do not move it: caches rely on their TTL
    /// for those. The default never moves.
    fn clients_generation(&self) -> u64 {
        0
    }
}
