use async_trait::async_trait;
use portcullis_store::{RateLimit, RateLimitRepo, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{SqliteStore, backend_err};

fn instant(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| StoreError::Corrupt("rate_limits instant".into()))
}

#[async_trait]
impl RateLimitRepo for SqliteStore {
    async fn find_rate_limit(&self, key: &str) -> Result<Option<RateLimit>, StoreError> {
        let row = sqlx::query("SELECT failures, blocked_until, updated_at FROM rate_limits WHERE key = ?")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        let Some(row) = row else { return Ok(None) };
        let failures: i64 = row.get("failures");
        let blocked: Option<i64> = row.get("blocked_until");
        Ok(Some(RateLimit {
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
            blocked_until: blocked.map(instant).transpose()?,
            updated_at: instant(row.get("updated_at"))?,
        }))
    }

    async fn record_failure(
        &self,
        key: &str,
        at: OffsetDateTime,
        forget_before: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (key, failures, updated_at) VALUES (?1, 1, ?2)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN updated_at < ?3 THEN 1 ELSE failures + 1 END,
                 blocked_until = CASE WHEN updated_at < ?3 THEN NULL ELSE blocked_until END,
                 updated_at = ?2
             RETURNING failures",
        )
        .bind(key)
        .bind(at.unix_timestamp())
        .bind(forget_before.unix_timestamp())
        .fetch_one(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn block_until(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE rate_limits SET blocked_until = ? WHERE key = ?")
            .bind(until.unix_timestamp())
            .bind(key)
            .execute(self.write_pool())
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
            "DELETE FROM rate_limits WHERE updated_at < ? AND (blocked_until IS NULL OR blocked_until <= ?)",
        )
        .bind(quiet_since.unix_timestamp())
        .bind(now.unix_timestamp())
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected())
    }

    async fn clear_rate_limit(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limits WHERE key = ?")
            .bind(key)
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }
}
