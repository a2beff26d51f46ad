use async_trait::async_trait;
use portcullis_store::{RateLimit, RateLimitRepo, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::users::to_second;
use crate::{PgStore, backend_err};

#[async_trait]
impl RateLimitRepo for PgStore {
    async fn find_rate_limit(&self, key: &str) -> Result<Option<RateLimit>, StoreError> {
        let row = sqlx::query("SELECT failures, blocked_until, updated_at FROM rate_limits WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(row.map(|row| {
            let failures: i32 = row.get("failures");
            RateLimit {
                failures: u32::try_from(failures).unwrap_or(0),
                blocked_until: row.get("blocked_until"),
                updated_at: row.get("updated_at"),
            }
        }))
    }

    async fn record_failure(
        &self,
        key: &str,
        at: OffsetDateTime,
        forget_before: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let failures: i32 = sqlx::query_scalar(
            "INSERT INTO rate_limits (key, failures, updated_at) VALUES ($1, 1, $2)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN rate_limits.updated_at < $3 THEN 1 ELSE rate_limits.failures + 1 END,
                 blocked_until = CASE WHEN rate_limits.updated_at < $3 THEN NULL ELSE rate_limits.blocked_until END,
                 updated_at = $2
             RETURNING failures",
        )
        .bind(key)
        .bind(to_second(at))
        .bind(to_second(forget_before))
        .fetch_one(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(u32::try_from(failures).unwrap_or(0))
    }

    async fn block_until(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE rate_limits SET blocked_until = $1 WHERE key = $2")
            .bind(to_second(until))
            .bind(key)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_stale_rate_limits(
        &self,
        quiet_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM rate_limits WHERE updated_at < $1 AND (blocked_until IS NULL OR blocked_until <= $2)",
        )
        .bind(quiet_since)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected())
    }

    async fn clear_rate_limit(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limits WHERE key = $1")
            .bind(key)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }
}
