//! The one-time link that creates the first administrator.

use super::{Db, Exec, Lock, Row, Tx};
use crate::{SetupTokenRepo, StoreError};
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
impl<D: Db> SetupTokenRepo for D {
    async fn create_setup_token(&self, hash: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // A new link voids the earlier ones: another instance creating one
        // meanwhile waits for this commit, then deletes this one.
        self.lock(&mut tx, Lock::SetupTokens).await?;
        tx.execute("DELETE FROM setup_tokens", args![]).await?;
        tx.execute(
            "INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, $2)",
            args![hash, expires_at],
        )
        .await?;
        tx.commit().await
    }

    async fn setup_token_valid(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        const VALID: &str =
            "SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2) AS valid";
        self.reader().fetch_one(VALID, args![hash, now]).await?.flag("valid")
    }

    async fn delete_expired_setup_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.writer().execute("DELETE FROM setup_tokens WHERE expires_at <= $1", args![now]).await
    }

    async fn consume_setup_token(&self, hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        const CONSUME: &str = "DELETE FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2";
        Ok(self.writer().execute(CONSUME, args![hash, now]).await? > 0)
    }
}
