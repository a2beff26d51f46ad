//! Signing keys (JWKS) and the lease that lets one instance rotate them.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::StoreError;

/// Where a signing key is in its life. Removed keys are deleted rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigningKeyState {
    /// Published in the JWKS, not yet signing.
    Staged,
    /// Signs new tokens (one per algorithm).
    Active,
    /// Published, no longer signing, until its tokens have expired.
    Retired,
    /// Withdrawn in an emergency: not published, never signs again.
    Revoked,
}

impl SigningKeyState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Revoked => "revoked",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "staged" => Ok(Self::Staged),
            "active" => Ok(Self::Active),
            "retired" => Ok(Self::Retired),
            "revoked" => Ok(Self::Revoked),
            other => Err(StoreError::Corrupt(format!("signing key state {other:?}"))),
        }
    }

    /// True when verifiers may see the key in the JWKS.
    pub fn is_published(self) -> bool {
        matches!(self, Self::Staged | Self::Active | Self::Retired)
    }
}

/// A signing key as stored. The private key is only ever stored sealed
/// (encrypted with the key-encryption key); `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    /// Key id (`kid`), unique.
    pub kid: String,
    /// JWS algorithm (`RS256`, `ES256`, `EdDSA`).
    pub alg: String,
    /// Lifecycle state.
    pub state: SigningKeyState,
    /// When it was generated.
    pub created_at: OffsetDateTime,
    /// When it starts (or started) signing.
    pub activates_at: OffsetDateTime,
    /// When it stopped signing (retired or revoked), if it has.
    pub retired_at: Option<OffsetDateTime>,
    /// The public JWK (JSON text), as published.
    pub public_jwk: String,
    /// The private JWK sealed with the key-encryption key (JWE compact).
    pub sealed_private_key: String,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retired_at", &self.retired_at)
            .field("sealed_private_key", &format_args!("[{} bytes sealed]", self.sealed_private_key.len()))
            .finish_non_exhaustive()
    }
}

/// Signing keys and the rotation lease.
#[async_trait]
pub trait SigningKeyRepo {
    /// Stores a new key; `Conflict` when the kid exists or the algorithm
    /// already has a key in that state (at most one staged and one active each).
    async fn insert_signing_key(&self, key: &SigningKeyRow) -> Result<(), StoreError>;

    /// Every stored key, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError>;

    /// Moves `kid` from state `from` to `to` at `at` (becoming active sets
    /// `activates_at`; retiring or revoking sets `retired_at`). Returns false
    /// when the key is not in state `from` (someone else moved it).
    async fn transition_signing_key(
        &self,
        kid: &str,
        from: SigningKeyState,
        to: SigningKeyState,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// In one transaction: the active key `retiring` becomes `to` (retired
    /// or revoked) and the staged key `next` becomes active, so no reader
    /// ever finds the algorithm without an active key. False, and nothing
    /// changed, when either is not in that state any more.
    async fn swap_active_signing_key(
        &self,
        retiring: &str,
        to: SigningKeyState,
        next: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Deletes a key (its end of life); returns whether it existed.
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl`, if it
    /// is free, expired or already held by `holder`. Returns whether `holder`
    /// holds it now. Atomic: of several callers at once, one wins.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError>;
}
