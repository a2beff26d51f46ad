//! What the protocol keeps between requests: pending authorization requests,
//! consents, grants and what hangs off them (authorization codes, refresh
//! tokens), one-time JWT ids, and the durable back-channel logout queue.
//!
//! A **grant** is one authorization of a client: by a user in a browser
//! session (authorization code flow). Everything issued from it — the code,
//! every refresh token of its rotation family, the access tokens (which name
//! it in their `gid` claim) — lives and dies with it: revoking the grant
//! (code replay, refresh-token reuse, revocation, logout) revokes them all
//! with one write. Secrets (codes, refresh tokens) are stored as SHA-256 only.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Effects, StoreError};

/// A verified authorization request waiting for sign-in or consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequestRow {
    /// Random id, carried in the sign-in URL (`/login?request=…`).
    pub id: String,
    /// The client that asked.
    pub client_id: String,
    /// The typed request, serialised by the protocol crate (JSON).
    pub request: String,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// After this the request is gone (the user starts again at the client).
    pub expires_at: OffsetDateTime,
}

/// One authorization of a client.
#[derive(Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// Random id (the `gid` claim of its access tokens).
    pub id: String,
    /// The client it authorizes.
    pub client_id: String,
    /// The user who authorized it.
    pub user_id: Uuid,
    /// The browser session's public id (`sid`), if it came from one.
    pub sid: Option<String>,
    /// Whether it ends with that session (false for `offline_access`).
    pub session_bound: bool,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// When the user authenticated.
    pub auth_time: OffsetDateTime,
    /// How (RFC 8176).
    pub amr: Vec<String>,
    /// The authentication context class, if any.
    pub acr: Option<String>,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// Nothing issued from the grant outlives this.
    pub expires_at: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// The resource servers (RFC 8707 identifiers) the authorization named:
    /// its access tokens may be for one of them.
    pub resources: Vec<String>,
}

impl std::fmt::Debug for GrantRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantRow")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("user_id", &self.user_id)
            .field("session_bound", &self.session_bound)
            .field("scopes", &self.scopes)
            .field("revoked_at", &self.revoked_at)
            .field("resources", &self.resources)
            .finish_non_exhaustive()
    }
}

impl GrantRow {
    /// Not revoked and not expired at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// An authorization code, stored hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeRow {
    /// SHA-256 of the code, hex.
    pub code_hash: String,
    /// The grant it was issued for.
    pub grant_id: String,
    /// The client it is bound to.
    pub client_id: String,
    /// The redirect URI it was sent to (must be repeated at the token endpoint).
    pub redirect_uri: String,
    /// The S256 PKCE challenge.
    pub code_challenge: String,
    /// The request's `nonce`, for the ID token.
    pub nonce: Option<String>,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// At most 60 s after creation.
    pub expires_at: OffsetDateTime,
    /// When it was redeemed, if it was.
    pub consumed_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for CodeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRow")
            .field("grant_id", &self.grant_id)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .field("consumed_at", &self.consumed_at)
            .finish_non_exhaustive()
    }
}

/// A refresh token, stored hashed. One per rotation step of a grant.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshTokenRow {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The grant (rotation family).
    pub grant_id: String,
    /// The client it is bound to.
    pub client_id: String,
    /// The scopes it may mint access tokens for (never wider than the grant's).
    pub scopes: Vec<String>,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// When it was exchanged for its successor, if it was.
    pub rotated_at: Option<OffsetDateTime>,
    /// The RFC 7638 thumbprint (base64url SHA-256) of the DPoP key it is
    /// bound to (RFC 9449 §5): presented without a proof by that key, it is
    /// refused. `None`: a bearer refresh token.
    pub dpop_jkt: Option<String>,
}

impl std::fmt::Debug for RefreshTokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshTokenRow")
            .field("grant_id", &self.grant_id)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("rotated_at", &self.rotated_at)
            .field("dpop_jkt", &self.dpop_jkt)
            .finish_non_exhaustive()
    }
}

/// The result of an atomic redemption (code) or rotation (refresh token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// This call redeemed it; anything passed along was stored.
    Redeemed,
    /// It had already been redeemed: the grant is now revoked (same transaction).
    Replayed,
    /// No such code or token.
    Unknown,
}

/// A refresh token with everything its use is judged by, read at once.
#[derive(Debug, Clone)]
pub struct RefreshState {
    /// The token.
    pub token: RefreshTokenRow,
    /// Its grant (rotation family).
    pub grant: GrantRow,
    /// The session the grant's `sid` names, if it exists.
    pub session: Option<crate::SessionTimes>,
    /// The grant's user, if it exists.
    pub user: Option<crate::User>,
}

/// One rotation of a refresh token (see [`GrantRepo::rotate_refresh_token`]).
#[derive(Debug, Clone, Copy)]
pub struct Rotate<'a> {
    /// The presented token's hash.
    pub token_hash: &'a str,
    /// Its successor.
    pub next: &'a RefreshTokenRow,
    /// The successor sealed with the presented token (only its holder can
    /// open it), stored with the successor when replays may be forgiven.
    pub sealed_successor: Option<&'a str>,
    /// A replay of a token rotated at or after this instant is forgiven.
    pub grace_since: Option<OffsetDateTime>,
}

/// What [`GrantRepo::rotate_refresh_token`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// This call rotated it; the successor is stored.
    Rotated,
    /// Already rotated within the grace: its sealed successor, nothing written.
    Graced(String),
    /// Already rotated before the grace: the family is now revoked.
    Replayed,
    /// No such token.
    Unknown,
}

/// A queued Back-Channel Logout notification (OIDC Back-Channel Logout 1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogout {
    /// Random id.
    pub id: String,
    /// The client to notify.
    pub client_id: String,
    /// Its `backchannel_logout_uri` at the time of logout.
    pub uri: String,
    /// The user (`sub`).
    pub user_id: Uuid,
    /// The ended session's public id (`sid`).
    pub sid: String,
    /// Deliveries tried so far.
    pub attempts: u32,
    /// When the session ended.
    pub created_at: OffsetDateTime,
    /// When it is next due.
    pub next_attempt_at: OffsetDateTime,
}

/// Pending authorization requests (waiting for the user to sign in or consent).
#[async_trait]
pub trait AuthRequestRepo {
    /// Stores a pending authorization request.
    async fn create_auth_request(&self, request: &AuthRequestRow) -> Result<(), StoreError>;

    /// The pending request with this id, if any (expiry is the caller's rule).
    async fn find_auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>, StoreError>;

    /// Deletes a pending request; true if it existed.
    async fn delete_auth_request(&self, id: &str) -> Result<bool, StoreError>;

    /// Deletes the request `id` and returns it, atomically: of two callers,
    /// one gets it (a pushed request is used once, RFC 9126 §4). Expiry is
    /// the caller's rule.
    async fn take_auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>, StoreError>;
}

/// A client a user is connected to: one holding their consent or a live
/// grant (refresh tokens, session-bound tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedClient {
    /// The client.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// What it may access: the consented and granted scopes, each once, sorted.
    pub scopes: Vec<String>,
    /// Since when (the oldest consent or live grant).
    pub since: OffsetDateTime,
    /// Live grants.
    pub grants: u64,
}

/// What users consented to, per client.
#[async_trait]
pub trait ConsentRepo {
    /// The clients `user_id` is connected to at `now`, by name.
    async fn connected_clients(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Vec<ConnectedClient>, StoreError>;

    /// Disconnects `user_id` from `client_id` in ONE transaction: deletes
    /// the consent, revokes every grant (refresh tokens included), queues a
    /// back-channel logout to the client for each session it had a grant
    /// in, and writes `effects`. Returns the grants revoked; `false` when
    /// nothing was connected (nothing written).
    async fn disconnect_client(
        &self,
        user_id: Uuid,
        client_id: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<u64>, StoreError>;

    /// The scopes `user_id` consented to for `client_id`, if any.
    async fn find_consent(&self, user_id: Uuid, client_id: &str) -> Result<Option<Vec<String>>, StoreError>;

    /// Records (replaces) the user's consent for a client.
    async fn save_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &[String],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Grants and what is issued from them: codes, refresh tokens, and the
/// JWT ids recorded as used or revoked.
#[async_trait]
pub trait GrantRepo {
    /// Stores a new grant and its authorization code in one transaction.
    async fn create_grant_with_code(&self, grant: &GrantRow, code: &CodeRow) -> Result<(), StoreError>;

    /// A grant by id.
    async fn find_grant(&self, id: &str) -> Result<Option<GrantRow>, StoreError>;

    /// A code by hash, with its grant.
    async fn find_code(&self, code_hash: &str) -> Result<Option<(CodeRow, GrantRow)>, StoreError>;

    /// Atomically redeems a code at `now`, storing `refresh` (the first token
    /// of the family) in the same transaction. A code already redeemed is a
    /// replay: its grant — and so every token issued from it — is revoked in
    /// that same transaction and `Replayed` returned.
    async fn redeem_code(
        &self,
        code_hash: &str,
        refresh: Option<&RefreshTokenRow>,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError>;

    /// A refresh token by hash, with its grant.
    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshTokenRow, GrantRow)>, StoreError>;

    /// What a refresh needs, in one read: the token by hash, its grant, the
    /// session the grant's `sid` names and the grant's user.
    async fn refresh_state(&self, token_hash: &str) -> Result<Option<RefreshState>, StoreError>;

    /// Atomically rotates `rotate.token_hash` into `rotate.next`, stored with
    /// its parent's hash and the sealed successor. A token already rotated is a
    /// reuse: when it was rotated at or after `rotate.grace_since` and has a
    /// sealed successor, that is returned (`Graced`) and nothing written;
    /// otherwise the whole family (the grant) is revoked and `Replayed`
    /// returned.
    async fn rotate_refresh_token(
        &self,
        rotate: &Rotate<'_>,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError>;

    /// Revokes a grant (and so everything issued from it); true if it was live.
    async fn revoke_grant(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Revokes every grant of a user (offline ones too); returns how many.
    async fn revoke_user_grants(&self, user_id: Uuid, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Records a one-time key (a client assertion's `jti`, a revoked access
    /// token's `jti`) until `expires_at`; false if it was already recorded
    /// and has not expired at `now` (an expired record is replaced).
    async fn record_jti(
        &self,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Whether `key` is recorded and not yet expired at `now`.
    async fn jti_recorded(&self, key: &str, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Deletes what expired before `now`: pending requests, device
    /// authorizations, codes, refresh tokens, grants, JWT ids; returns how
    /// many rows went.
    async fn delete_expired_grants(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Ending browser sessions, and the queue of back-channel logout
/// notifications it fills.
#[async_trait]
pub trait LogoutRepo {
    /// Ends a browser session in one transaction: deletes the session row,
    /// revokes its session-bound grants, and queues a back-channel logout
    /// for every client with a grant in it that registered a
    /// `backchannel_logout_uri` (one per client), with `effects`. Returns the
    /// queued count, or `None` (nothing written) when the session did not exist.
    async fn end_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<u64>, StoreError>;

    /// [`Self::end_session`] for every session of a user; returns how many ended.
    /// With `effects` (each audit event's detail gains `sessions_ended`).
    async fn end_user_sessions(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<u64, StoreError>;

    /// Claims the oldest due back-channel logout whose lease has expired,
    /// leasing it until `lease_until` and counting an attempt.
    async fn claim_due_backchannel_logout(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Option<BackchannelLogout>, StoreError>;

    /// Removes a delivered notification.
    async fn complete_backchannel_logout(&self, id: &str) -> Result<(), StoreError>;

    /// Releases the lease; due again at `next_attempt_at`.
    async fn retry_backchannel_logout(
        &self,
        id: &str,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError>;
}
