use async_trait::async_trait;
use portcullis_store::{SigningKeyRepo, SigningKeyRow, SigningKeyState, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::{Duration, OffsetDateTime};

use crate::{SqliteStore, backend_err};

fn instant(row: &SqliteRow, column: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(row.get(column))
        .map_err(|_| StoreError::Corrupt(format!("signing_keys.{column}")))
}

fn key_from_row(row: &SqliteRow) -> Result<SigningKeyRow, StoreError> {
    let retired_at: Option<i64> = row.get("retired_at");
    Ok(SigningKeyRow {
        kid: row.get("kid"),
        alg: row.get("alg"),
        state: SigningKeyState::parse(row.get("state"))?,
        created_at: instant(row, "created_at")?,
        activates_at: instant(row, "activates_at")?,
        retired_at: retired_at
            .map(OffsetDateTime::from_unix_timestamp)
            .transpose()
            .map_err(|_| StoreError::Corrupt("signing_keys.retired_at".into()))?,
        public_jwk: row.get("public_jwk"),
        sealed_private_key: row.get("sealed_private_key"),
    })
}

#[async_trait]
impl SigningKeyRepo for SqliteStore {
    async fn insert_signing_key(&self, key: &SigningKeyRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys
                 (kid, alg, state, created_at, activates_at, retired_at, public_jwk, sealed_private_key)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.state.as_str())
        .bind(key.created_at.unix_timestamp())
        .bind(key.activates_at.unix_timestamp())
        .bind(key.retired_at.map(OffsetDateTime::unix_timestamp))
        .bind(&key.public_jwk)
        .bind(&key.sealed_private_key)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        sqlx::query(
            "SELECT kid, alg, state, created_at, activates_at, retired_at, public_jwk, sealed_private_key
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(self.pool())
        .await
        .map_err(backend_err)?
        .iter()
        .map(key_from_row)
        .collect()
    }

    async fn transition_signing_key(
        &self,
        kid: &str,
        from: SigningKeyState,
        to: SigningKeyState,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = match to {
            SigningKeyState::Active => {
                "UPDATE signing_keys SET state = ?, activates_at = ? WHERE kid = ? AND state = ?"
            }
            SigningKeyState::Retired | SigningKeyState::Revoked => {
                "UPDATE signing_keys SET state = ?, retired_at = ? WHERE kid = ? AND state = ?"
            }
            SigningKeyState::Staged => {
                return Err(StoreError::Conflict("a key cannot return to staged".into()));
            }
        };
        let done = sqlx::query(sql)
            .bind(to.as_str())
            .bind(at.unix_timestamp())
            .bind(kid)
            .bind(from.as_str())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        // One statement: SQLite serialises writers, so of two callers one wins.
        let won: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.expires_at <= ? OR leases.holder = excluded.holder
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind((now + ttl).unix_timestamp())
        .bind(now.unix_timestamp())
        .fetch_optional(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(won.as_deref() == Some(holder))
    }
}
