use async_trait::async_trait;
use portcullis_store::{SigningKeyRepo, SigningKeyRow, SigningKeyState, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::{Duration, OffsetDateTime};

use crate::{PgStore, backend_err};

/// Instants are kept to the second, as in the SQLite backend.
fn second(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

fn key_from_row(row: &PgRow) -> Result<SigningKeyRow, StoreError> {
    Ok(SigningKeyRow {
        kid: row.get("kid"),
        alg: row.get("alg"),
        state: SigningKeyState::parse(row.get("state"))?,
        created_at: row.get("created_at"),
        activates_at: row.get("activates_at"),
        retired_at: row.get("retired_at"),
        public_jwk: row.get("public_jwk"),
        sealed_private_key: row.get("sealed_private_key"),
    })
}

#[async_trait]
impl SigningKeyRepo for PgStore {
    async fn insert_signing_key(&self, key: &SigningKeyRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys
                 (kid, alg, state, created_at, activates_at, retired_at, public_jwk, sealed_private_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.state.as_str())
        .bind(second(key.created_at))
        .bind(second(key.activates_at))
        .bind(key.retired_at.map(second))
        .bind(&key.public_jwk)
        .bind(&key.sealed_private_key)
        .execute(self.pool())
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
                "UPDATE signing_keys SET state = $1, activates_at = $2 WHERE kid = $3 AND state = $4"
            }
            SigningKeyState::Retired | SigningKeyState::Revoked => {
                "UPDATE signing_keys SET state = $1, retired_at = $2 WHERE kid = $3 AND state = $4"
            }
            SigningKeyState::Staged => {
                return Err(StoreError::Conflict("a key cannot return to staged".into()));
            }
        };
        let done = sqlx::query(sql)
            .bind(to.as_str())
            .bind(second(at))
            .bind(kid)
            .bind(from.as_str())
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(self.pool())
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
        // ON CONFLICT … DO UPDATE … WHERE locks the row: of concurrent callers,
        // one inserts or updates and the others see the new holder and get nothing.
        let won: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(second(now + ttl))
        .bind(second(now))
        .fetch_optional(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(won.as_deref() == Some(holder))
    }
}
