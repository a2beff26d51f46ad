//! Exponential back-off after repeated failures, per account and per client IP.

use portcullis_store::Store;
use portcullis_store::{RateLimit, StoreError, normalise_login};
use time::{Duration, OffsetDateTime};

/// After `max_failures` consecutive failures, attempts are refused for
/// `base_delay`, doubling with each further failure up to `max_delay`. A
/// counter quiet for `window` (at least `max_delay`) starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures allowed before the first back-off.
    pub max_failures: u32,
    /// The first back-off.
    pub base_delay: Duration,
    /// The longest back-off.
    pub max_delay: Duration,
    /// Failures older than this (counted from the last one) are forgotten.
    pub window: Duration,
}

impl LockoutPolicy {
    /// The back-off after `failures` consecutive failures, if any.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.max_failures)?;
        let factor = 2_i32.checked_pow(over.min(30)).unwrap_or(i32::MAX);
        Some(self.base_delay.checked_mul(factor).map_or(self.max_delay, |d| d.min(self.max_delay)))
    }

    /// Until when attempts are refused, given the counter, at `now`.
    pub fn refused_until(state: Option<&RateLimit>, now: OffsetDateTime) -> Option<OffsetDateTime> {
        state.and_then(|s| s.blocked_until).filter(|until| *until > now)
    }
}

/// The two counters a password attempt touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockouts {
    /// Per account (keyed by the login as typed, normalised, whether or not
    /// the account exists, so a lockout reveals nothing).
    pub account: LockoutPolicy,
    /// Per client IP (more lenient: many people may share one address).
    pub ip: LockoutPolicy,
}

/// The counter key of a login name.
pub(crate) fn account_key(login: &str) -> String {
    format!("account:{}", normalise_login(login))
}

/// The counter key of a client IP.
pub(crate) fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

impl Lockouts {
    /// The latest instant until which any of `keys` is refused.
    pub(crate) async fn refused_until(
        store: &dyn Store,
        keys: &[String],
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(Self::counters(store, keys, now).await?.0)
    }

    /// [`Self::refused_until`], and which of `keys` have a counter at all
    /// (only those need clearing after a success).
    pub(crate) async fn counters<'k>(
        store: &dyn Store,
        keys: &'k [String],
        now: OffsetDateTime,
    ) -> Result<(Option<OffsetDateTime>, Vec<&'k str>), StoreError> {
        let mut until = None;
        let mut counted = Vec::new();
        for key in keys {
            let state = store.find_rate_limit(key).await?;
            until = until.max(LockoutPolicy::refused_until(state.as_ref(), now));
            if state.is_some() {
                counted.push(key.as_str());
            }
        }
        Ok((until, counted))
    }

    /// Counts a failure on `key`; returns the back-off it started, if any.
    pub(crate) async fn fail(
        store: &dyn Store,
        policy: &LockoutPolicy,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let failures = store.record_failure(key, now, now - policy.window.max(policy.max_delay)).await?;
        let Some(delay) = policy.delay_after(failures) else { return Ok(None) };
        let until = now + delay;
        store.block_until(key, until).await?;
        Ok(Some(until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_after_the_threshold_up_to_the_cap() {
        let policy = LockoutPolicy {
            max_failures: 5,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            window: Duration::days(1),
        };
        assert_eq!(policy.delay_after(4), None);
        assert_eq!(policy.delay_after(5), Some(Duration::seconds(30)));
        assert_eq!(policy.delay_after(6), Some(Duration::seconds(60)));
        assert_eq!(policy.delay_after(8), Some(Duration::seconds(240)));
        assert_eq!(policy.delay_after(20), Some(Duration::hours(1)));
        assert_eq!(policy.delay_after(u32::MAX), Some(Duration::hours(1)));
    }
}
