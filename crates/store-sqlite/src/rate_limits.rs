//! Throttle counters on SQLite: a reservation is one `INSERT … ON CONFLICT
//! DO UPDATE … WHERE not blocked … RETURNING` (instants as unix seconds), the
//! same transition as `portcullis_store::reserve`.

use async_trait::async_trait;
use portcullis_store::{LockoutPolicy, RateLimit, RateLimitRepo, Reservation, StoreError, Throttle};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{SqliteStore, backend_err};

fn instant(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| StoreError::Corrupt("rate_limits instant".into()))
}

fn count(failures: i64) -> u32 {
    u32::try_from(failures).unwrap_or(u32::MAX)
}

/// `?1` key, `?2` now, `?3` max failures, `?4` base delay (s), `?5` max delay
/// (s), `?6` forget counters last reserved before this, `?7` the block of a
/// fresh counter's first failure. `n` is the new count, written out where
/// it is needed (SET expressions see the row as it was).
const RESERVE: &str = "
INSERT INTO rate_limits (key, failures, blocked_until, updated_at) VALUES (?1, 1, ?7, ?2)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN rate_limits.updated_at < ?6 THEN 1 ELSE rate_limits.failures + 1 END,
    blocked_until = CASE
        WHEN (CASE WHEN rate_limits.updated_at < ?6 THEN 1 ELSE rate_limits.failures + 1 END) < ?3 THEN NULL
        ELSE ?2 + min(?5, ?4 << min((CASE WHEN rate_limits.updated_at < ?6 THEN 1 ELSE rate_limits.failures + 1 END) - ?3, 30))
    END,
    updated_at = ?2
WHERE rate_limits.updated_at < ?6 OR rate_limits.blocked_until IS NULL OR rate_limits.blocked_until <= ?2
RETURNING failures, blocked_until";

#[async_trait]
impl Throttle for SqliteStore {
    async fn reserve_attempt(
        &self,
        key: &str,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<Reservation, StoreError> {
        let first_block = policy.delay_after(1).map(|d| (now + d).unix_timestamp());
        let row = sqlx::query(RESERVE)
            .bind(key)
            .bind(now.unix_timestamp())
            .bind(i64::from(policy.max_failures.max(1)))
            .bind(policy.base_delay.whole_seconds())
            .bind(policy.max_delay.whole_seconds())
            .bind((now - policy.memory()).unix_timestamp())
            .bind(first_block)
            .fetch_optional(self.write_pool())
            .await
            .map_err(backend_err)?;
        if let Some(row) = row {
            let blocked: Option<i64> = row.get("blocked_until");
            return Ok(Reservation::Admitted {
                failures: count(row.get("failures")),
                blocked_until: blocked.map(instant).transpose()?,
            });
        }
        // Not written: the key is backing off.
        let until = self.find_rate_limit(key).await?.and_then(|s| s.blocked_until);
        Ok(Reservation::Refused { until: until.filter(|u| *u > now).unwrap_or(now + time::Duration::SECOND) })
    }

    async fn release_attempt(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE rate_limits SET failures = max(failures - 1, 0), blocked_until = NULL WHERE key = ?1",
        )
        .bind(key)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limits WHERE key = ?1")
            .bind(key)
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }
}

#[async_trait]
impl RateLimitRepo for SqliteStore {
    async fn find_rate_limit(&self, key: &str) -> Result<Option<RateLimit>, StoreError> {
        let row = sqlx::query("SELECT failures, blocked_until, updated_at FROM rate_limits WHERE key = ?1")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        let Some(row) = row else { return Ok(None) };
        let blocked: Option<i64> = row.get("blocked_until");
        Ok(Some(RateLimit {
            failures: count(row.get("failures")),
            blocked_until: blocked.map(instant).transpose()?,
            updated_at: instant(row.get("updated_at"))?,
        }))
    }

    async fn delete_stale_rate_limits(
        &self,
        quiet_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM rate_limits WHERE updated_at < ?1 AND (blocked_until IS NULL OR blocked_until <= ?2)",
        )
        .bind(quiet_since.unix_timestamp())
        .bind(now.unix_timestamp())
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}
