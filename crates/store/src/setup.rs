//! One-time setup tokens for creating the first administrator. Stored as
//! SHA-256 hashes; consuming one deletes it, and so does creating another.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;

/// Setup tokens.
#[async_trait]
pub trait SetupTokenRepo {
    /// Stores a token hash valid until `expires_at` and, in the same
    /// transaction, deletes every other token: only the newest setup link
    /// works (instances creating tokens at once take turns, and the last
    /// one's survives).
    async fn create_setup_token(&self, hash: &str, expires_at: OffsetDateTime) -> Result<(), StoreError>;

    /// True when the token exists and has not expired at `now` (does not consume).
    async fn setup_token_valid(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Deletes the token if it exists and has not expired at `now`; true if
    /// it did (single use: only one caller ever gets true).
    async fn consume_setup_token(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Deletes tokens expired at `now`; returns how many.
    async fn delete_expired_setup_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
