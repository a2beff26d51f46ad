//! Throttle counters: a reservation is one `INSERT … ON CONFLICT DO UPDATE
//! … WHERE not blocked … RETURNING` (the backend's [`Db::RESERVE`]: the
//! back-off arithmetic is written in each dialect), the same transition as
//! [`crate::reserve`].
//!
//! A key already backing off is refused on a read first, without that
//! statement: on PostgreSQL the statement locks the row even when its
//! `WHERE` writes nothing, so each refused guess wrote WAL, waited for its
//! flush and queued behind the other guesses at the same account (measured
//! in `docs/benchmarks.md`, "Several instances"). Refusing on a read is the
//! same answer the statement would give: the block was in force when read,
//! and a release lifting it meanwhile orders after this attempt.

use super::{Db, Exec, Row, count};
use crate::{LockoutPolicy, RateLimit, RateLimitRepo, Reservation, StoreError, Throttle};
use async_trait::async_trait;
use time::OffsetDateTime;

const RELEASE: &str = "UPDATE rate_limits
     SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, blocked_until = NULL WHERE key = $1";
const FIND: &str = "SELECT failures, blocked_until, updated_at FROM rate_limits WHERE key = $1";
const DELETE_STALE: &str =
    "DELETE FROM rate_limits WHERE updated_at < $1 AND (blocked_until IS NULL OR blocked_until <= $2)";

fn failures(row: &impl Row) -> Result<u32, StoreError> {
    Ok(u32::try_from(count(row.int("failures")?)).unwrap_or(u32::MAX))
}

#[async_trait]
impl<D: Db> Throttle for D {
    async fn reserve_attempt(
        &self,
        key: &str,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<Reservation, StoreError> {
        if let Some(state) = self.find_rate_limit(key).await?
            && state.updated_at >= now - policy.memory()
            && let Some(until) = state.blocked_until.filter(|until| *until > now)
        {
            return Ok(Reservation::Refused { until });
        }
        let args = args![
            key,
            now,
            i64::from(policy.max_failures.max(1)),
            policy.base_delay.whole_seconds(),
            policy.max_delay.whole_seconds(),
            now - policy.memory(),
            policy.delay_after(1).map(|d| now + d)
        ];
        if let Some(row) = self.writer().fetch_optional(D::RESERVE, args).await? {
            return Ok(Reservation::Admitted {
                failures: failures(&row)?,
                blocked_until: row.opt_at("blocked_until")?,
            });
        }
        // Not written: the key is backing off.
        let until = self.find_rate_limit(key).await?.and_then(|s| s.blocked_until);
        Ok(Reservation::Refused { until: until.filter(|u| *u > now).unwrap_or(now + time::Duration::SECOND) })
    }

    async fn release_attempt(&self, key: &str) -> Result<(), StoreError> {
        self.writer().execute(RELEASE, args![key]).await.map(drop)
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.writer().execute("DELETE FROM rate_limits WHERE key = $1", args![key]).await.map(drop)
    }
}

#[async_trait]
impl<D: Db> RateLimitRepo for D {
    async fn find_rate_limit(&self, key: &str) -> Result<Option<RateLimit>, StoreError> {
        let Some(row) = self.reader().fetch_optional(FIND, args![key]).await? else { return Ok(None) };
        Ok(Some(RateLimit {
            failures: failures(&row)?,
            blocked_until: row.opt_at("blocked_until")?,
            updated_at: row.at("updated_at")?,
        }))
    }

    async fn delete_stale_rate_limits(
        &self,
        quiet_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.writer().execute(DELETE_STALE, args![quiet_since, now]).await
    }
}
