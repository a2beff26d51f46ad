//! Failure counters for brute-force protection, keyed by an opaque string
//! (`account:<login>`, `ip:<address>`). The back-off policy lives in `authn`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;

/// The state of one counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Consecutive failures since the last success.
    pub failures: u32,
    /// Attempts are refused until this instant.
    pub blocked_until: Option<OffsetDateTime>,
    /// Last failure.
    pub updated_at: OffsetDateTime,
}

/// Failure counters.
#[async_trait]
pub trait RateLimitRepo {
    /// The counter for `key`, if any.
    async fn find_rate_limit(&self, key: &str) -> Result<Option<RateLimit>, StoreError>;

    /// Adds one failure atomically (creating the counter); returns the new
    /// count. A counter whose last failure is older than `forget_before`
    /// starts again from one (and loses its block).
    async fn record_failure(
        &self,
        key: &str,
        at: OffsetDateTime,
        forget_before: OffsetDateTime,
    ) -> Result<u32, StoreError>;

    /// Refuses attempts on `key` until `until`.
    async fn block_until(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError>;

    /// Forgets the counter (after a success).
    async fn clear_rate_limit(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes counters whose last failure is before `quiet_since` and that
    /// block nothing at `now`; returns how many.
    async fn delete_stale_rate_limits(
        &self,
        quiet_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}
