use async_trait::async_trait;
use portcullis_store::{SetupTokenRepo, StoreError};
use time::OffsetDateTime;

use crate::users::to_second;
use crate::{PgStore, backend_err};

#[async_trait]
impl SetupTokenRepo for PgStore {
    async fn create_setup_token(&self, hash: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        // A lock that conflicts with itself: instances creating tokens at once
        // take turns, so each deletes the tokens committed before it and the
        // last one's survives (under READ COMMITTED alone, two could both
        // delete before either inserts, and both tokens would stay valid).
        sqlx::query("LOCK TABLE setup_tokens IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await.map_err(backend_err)?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, $2)")
            .bind(hash)
            .bind(to_second(expires_at))
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        tx.commit().await.map_err(backend_err)
    }

    async fn setup_token_valid(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2)",
        )
        .bind(hash)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(backend_err)
    }

    async fn delete_expired_setup_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM setup_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }

    async fn consume_setup_token(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2")
            .bind(hash)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }
}
