use async_trait::async_trait;
use portcullis_store::{SetupTokenRepo, StoreError};
use time::OffsetDateTime;

use crate::{SqliteStore, backend_err};

#[async_trait]
impl SetupTokenRepo for SqliteStore {
    async fn create_setup_token(&self, hash: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.write_pool().begin().await.map_err(backend_err)?;
        // The DELETE takes the write lock first: another process creating a
        // token waits for this commit, then deletes this one.
        sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await.map_err(backend_err)?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)")
            .bind(hash)
            .bind(expires_at.unix_timestamp())
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        tx.commit().await.map_err(backend_err)
    }

    async fn setup_token_valid(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = ? AND expires_at > ?)",
        )
        .bind(hash)
        .bind(now.unix_timestamp())
        .fetch_one(self.pool())
        .await
        .map_err(backend_err)
    }

    async fn delete_expired_setup_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM setup_tokens WHERE expires_at <= ?")
            .bind(now.unix_timestamp())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }

    async fn consume_setup_token(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = ? AND expires_at > ?")
            .bind(hash)
            .bind(now.unix_timestamp())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }
}
