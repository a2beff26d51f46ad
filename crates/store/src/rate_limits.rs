//! Throttles for credential checks: one failure counter per key
//! (`pwd:<user id>`, `mfa:<user id>`, `ip:<address>`, `client:<id>`, …).
//!
//! An attempt is **reserved before the check**: [`Throttle::reserve_attempt`]
//! counts it as a failure in one atomic statement (refusing it, unchanged,
//! while the key is backing off), so parallel attempts cannot all slip past a
//! limit they each read as not reached. After the check the caller keeps the
//! reservation (the attempt failed: nothing to do) or gives it back
//! ([`Throttle::release_attempt`]: the attempt was right, or was not a guess).
//!
//! The reservation that reaches the limit blocks the key at once, for the
//! back-off its failure would start ([`LockoutPolicy::delay_after`]); a
//! release lifts that provisional block. So while a key is under its limit
//! at most `max_failures` failures are ever evaluated, and past it at most
//! one per back-off period, however requests interleave.
//!
//! [`reserve`] and [`release`] are the reference transitions: every
//! implementation (the SQL backends, [`MemoryThrottle`], Redis later) must
//! behave exactly like them, and a test drives random sequences through all of
//! them side by side.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

use crate::StoreError;

/// The state of one counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Failures counted (reserved attempts included) since the counter began.
    pub failures: u32,
    /// Attempts are refused until this instant.
    pub blocked_until: Option<OffsetDateTime>,
    /// The last reservation.
    pub updated_at: OffsetDateTime,
}

/// After `max_failures` failures, attempts are refused for `base_delay`,
/// doubling with each further failure up to `max_delay`. A counter quiet for
/// `window` (at least `max_delay`) starts again.
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
    /// The back-off after `failures` failures, if any.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.max_failures.max(1))?;
        let factor = 2_i32.checked_pow(over.min(30)).unwrap_or(i32::MAX);
        Some(self.base_delay.checked_mul(factor).map_or(self.max_delay, |d| d.min(self.max_delay)))
    }

    /// How long a quiet counter is remembered: `window`, but never less than
    /// the longest back-off (a block must not be forgotten while it lasts).
    pub fn memory(&self) -> Duration {
        self.window.max(self.max_delay)
    }

    /// The most failures that can be evaluated within `span` on a counter
    /// that starts fresh: `max_failures` at once, then one per back-off
    /// period. (A property the throttles are tested against.)
    pub fn most_failures_within(&self, span: Duration) -> u32 {
        let mut failures = self.max_failures.max(1);
        let mut elapsed = Duration::ZERO;
        while let Some(delay) = self.delay_after(failures) {
            elapsed += delay.max(Duration::SECOND);
            if elapsed > span || failures == u32::MAX {
                break;
            }
            failures += 1;
        }
        failures
    }
}

/// The answer to [`Throttle::reserve_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may be checked; it counts as a failure unless released.
    Admitted {
        /// The count including this attempt.
        failures: u32,
        /// Set when this attempt's failure starts (or continues) a back-off:
        /// the key is blocked until then already, unless the attempt is released.
        blocked_until: Option<OffsetDateTime>,
    },
    /// The key is backing off: the attempt must not be checked.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
}

/// The reference transition of a reservation at `now`: the new state and
/// the answer. A counter quiet for [`LockoutPolicy::memory`] starts again.
pub fn reserve(
    state: Option<&RateLimit>,
    policy: &LockoutPolicy,
    now: OffsetDateTime,
) -> (Option<RateLimit>, Reservation) {
    let live = state.filter(|s| s.updated_at >= now - policy.memory());
    if let Some(until) = live.and_then(|s| s.blocked_until).filter(|until| *until > now) {
        return (state.cloned(), Reservation::Refused { until });
    }
    let failures = live.map_or(0, |s| s.failures).saturating_add(1);
    let blocked_until = policy.delay_after(failures).map(|d| now + d);
    let next = RateLimit { failures, blocked_until, updated_at: now };
    (Some(next), Reservation::Admitted { failures, blocked_until })
}

/// The reference transition of a release: one failure less, and no block
/// (the reservation being given back was admitted, so no earlier block was
/// in force; any block since is its own provisional one).
pub fn release(state: Option<&RateLimit>) -> Option<RateLimit> {
    state.map(|s| RateLimit { failures: s.failures.saturating_sub(1), blocked_until: None, ..s.clone() })
}

/// Reserve-before-check counters (see the module docs).
#[async_trait]
pub trait Throttle: std::fmt::Debug + Send + Sync {
    /// Counts an attempt on `key` as a failure before it is checked, in one
    /// atomic step, unless the key is backing off (then nothing changes).
    async fn reserve_attempt(
        &self,
        key: &str,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<Reservation, StoreError>;

    /// Gives back one reservation of `key`: the attempt did not fail.
    async fn release_attempt(&self, key: &str) -> Result<(), StoreError>;

    /// Forgets the counter (a success that proves what `key` guards).
    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError>;
}

/// Failure counters kept in the database (durable, shared by instances).
#[async_trait]
pub trait RateLimitRepo: Throttle {
    /// The counter for `key`, if any.
    async fn find_rate_limit(&self, key: &str) -> Result<Option<RateLimit>, StoreError>;

    /// Deletes counters whose last failure is before `quiet_since` and that
    /// block nothing at `now`; returns how many.
    async fn delete_stale_rate_limits(
        &self,
        quiet_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}

/// A [`Throttle`] in this process's memory: exact within one instance, with
/// no database write. For the hot path (client authentication at the token
/// endpoint); with several instances each counts alone until a shared store
/// (Redis) takes its place. Quiet counters are dropped as it grows.
#[derive(Debug, Default)]
pub struct MemoryThrottle {
    counters: Mutex<HashMap<String, RateLimit>>,
}

/// Counters kept before quiet ones are swept.
const MEMORY_SWEEP_AT: usize = 4096;

impl MemoryThrottle {
    /// An empty throttle.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter for `key`, if any (tests, metrics).
    pub fn get(&self, key: &str) -> Option<RateLimit> {
        self.lock().get(key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RateLimit>> {
        // A panic while holding the lock cannot leave a counter half-written.
        self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Throttle for MemoryThrottle {
    async fn reserve_attempt(
        &self,
        key: &str,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<Reservation, StoreError> {
        let mut counters = self.lock();
        if counters.len() >= MEMORY_SWEEP_AT && !counters.contains_key(key) {
            let forget = now - policy.memory();
            counters.retain(|_, s| s.updated_at >= forget || s.blocked_until.is_some_and(|u| u > now));
        }
        let (next, answer) = reserve(counters.get(key), policy, now);
        if let Some(next) = next {
            counters.insert(key.to_owned(), next);
        }
        Ok(answer)
    }

    async fn release_attempt(&self, key: &str) -> Result<(), StoreError> {
        let mut counters = self.lock();
        match release(counters.get(key)) {
            Some(s) if s.failures == 0 => {
                counters.remove(key);
            }
            Some(s) => {
                counters.insert(key.to_owned(), s);
            }
            None => {}
        }
        Ok(())
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            max_failures: 5,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            window: Duration::days(1),
        }
    }

    #[test]
    fn backs_off_exponentially_after_the_threshold_up_to_the_cap() {
        let policy = policy();
        assert_eq!(policy.delay_after(4), None);
        assert_eq!(policy.delay_after(5), Some(Duration::seconds(30)));
        assert_eq!(policy.delay_after(6), Some(Duration::seconds(60)));
        assert_eq!(policy.delay_after(8), Some(Duration::seconds(240)));
        assert_eq!(policy.delay_after(20), Some(Duration::hours(1)));
        assert_eq!(policy.delay_after(u32::MAX), Some(Duration::hours(1)));
    }

    #[test]
    fn the_reservation_reaching_the_limit_blocks_at_once() {
        let policy = policy();
        let now = datetime!(2026-01-01 00:00 UTC);
        let mut state = None;
        for n in 1..=5 {
            let (next, answer) = reserve(state.as_ref(), &policy, now);
            let blocked = (n == 5).then(|| now + Duration::seconds(30));
            assert_eq!(answer, Reservation::Admitted { failures: n, blocked_until: blocked });
            state = next;
        }
        let (_, answer) = reserve(state.as_ref(), &policy, now);
        assert_eq!(answer, Reservation::Refused { until: now + Duration::seconds(30) });
        // Giving the fifth back lifts its provisional block.
        state = release(state.as_ref());
        let (next, answer) = reserve(state.as_ref(), &policy, now);
        assert!(matches!(answer, Reservation::Admitted { failures: 5, .. }));
        state = next;
        // After the back-off, one more attempt, then twice as long.
        let later = now + Duration::seconds(30);
        let (state, answer) = reserve(state.as_ref(), &policy, later);
        assert_eq!(
            answer,
            Reservation::Admitted { failures: 6, blocked_until: Some(later + Duration::minutes(1)) }
        );
        // A counter quiet for the window starts again.
        let much_later = later + Duration::days(2);
        let (_, answer) = reserve(state.as_ref(), &policy, much_later);
        assert_eq!(answer, Reservation::Admitted { failures: 1, blocked_until: None });
    }

    #[test]
    fn most_failures_within_counts_one_per_back_off() {
        let policy = policy();
        assert_eq!(policy.most_failures_within(Duration::ZERO), 5);
        assert_eq!(policy.most_failures_within(Duration::seconds(29)), 5);
        assert_eq!(policy.most_failures_within(Duration::seconds(30)), 6);
        assert_eq!(policy.most_failures_within(Duration::seconds(90)), 7);
    }

    #[tokio::test]
    async fn memory_throttle_follows_the_reference() {
        let throttle = MemoryThrottle::new();
        let policy = policy();
        let now = datetime!(2026-01-01 00:00 UTC);
        for _ in 0..5 {
            assert!(matches!(
                throttle.reserve_attempt("k", &policy, now).await,
                Ok(Reservation::Admitted { .. })
            ));
        }
        assert!(matches!(throttle.reserve_attempt("k", &policy, now).await, Ok(Reservation::Refused { .. })));
        throttle.clear_attempts("k").await.expect("clear");
        assert_eq!(throttle.get("k"), None);
        throttle.reserve_attempt("k", &policy, now).await.expect("reserve");
        throttle.release_attempt("k").await.expect("release");
        assert_eq!(throttle.get("k"), None, "a counter back at zero is dropped");
    }
}
