//! Signing keys, and the leases that let one instance at a time rotate them.

use super::{Db, Exec, Row, Tx};
use crate::{SigningKeyRepo, SigningKeyRow, SigningKeyState, StoreError};
use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

const INSERT: &str = "INSERT INTO signing_keys
         (kid, alg, state, created_at, activates_at, retired_at, public_jwk, sealed_private_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const ALL: &str =
    "SELECT kid, alg, state, created_at, activates_at, retired_at, public_jwk, sealed_private_key
     FROM signing_keys ORDER BY created_at, kid";
const ACTIVATE: &str = "UPDATE signing_keys SET state = $1, activates_at = $2 WHERE kid = $3 AND state = $4";
const RETIRE: &str = "UPDATE signing_keys SET state = $1, retired_at = $2 WHERE kid = $3 AND state = $4";
/// One statement: of two callers, one wins (SQLite serialises writers; on
/// PostgreSQL `ON CONFLICT … DO UPDATE … WHERE` locks the row).
const LEASE: &str = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
     WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder
     RETURNING holder";

fn key(row: &impl Row) -> Result<SigningKeyRow, StoreError> {
    Ok(SigningKeyRow {
        kid: row.text("kid")?,
        alg: row.text("alg")?,
        state: SigningKeyState::parse(&row.text("state")?)?,
        created_at: row.at("created_at")?,
        activates_at: row.at("activates_at")?,
        retired_at: row.opt_at("retired_at")?,
        public_jwk: row.text("public_jwk")?,
        sealed_private_key: row.text("sealed_private_key")?,
    })
}

#[async_trait]
impl<D: Db> SigningKeyRepo for D {
    async fn insert_signing_key(&self, k: &SigningKeyRow) -> Result<(), StoreError> {
        let _changed = self.keys_counter().on_drop();
        let args = args![
            &k.kid,
            &k.alg,
            k.state.as_str(),
            k.created_at,
            k.activates_at,
            k.retired_at,
            &k.public_jwk,
            &k.sealed_private_key
        ];
        self.writer().execute(INSERT, args).await.map(drop)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        self.reader().fetch_all(ALL, args![]).await?.iter().map(key).collect()
    }

    async fn transition_signing_key(
        &self,
        kid: &str,
        from: SigningKeyState,
        to: SigningKeyState,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = match to {
            SigningKeyState::Active => ACTIVATE,
            SigningKeyState::Retired | SigningKeyState::Revoked => RETIRE,
            SigningKeyState::Staged => {
                return Err(StoreError::Conflict("a key cannot return to staged".into()));
            }
        };
        let _changed = self.keys_counter().on_drop();
        Ok(self.writer().execute(sql, args![to.as_str(), at, kid, from.as_str()]).await? == 1)
    }

    async fn swap_active_signing_key(
        &self,
        retiring: &str,
        to: SigningKeyState,
        next: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if !matches!(to, SigningKeyState::Retired | SigningKeyState::Revoked) {
            return Err(StoreError::Conflict("an active key is replaced by retiring or revoking it".into()));
        }
        let _changed = self.keys_counter().on_drop();
        let mut tx = self.begin().await?;
        // The old key first: one active key per algorithm at every statement.
        let old =
            tx.execute(RETIRE, args![to.as_str(), at, retiring, SigningKeyState::Active.as_str()]).await?;
        let new = tx.execute(ACTIVATE, args![SigningKeyState::Active.as_str(), at, next, "staged"]).await?;
        if old != 1 || new != 1 {
            return Ok(false); // the transaction is rolled back as it drops
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let _changed = self.keys_counter().on_drop();
        Ok(self.writer().execute("DELETE FROM signing_keys WHERE kid = $1", args![kid]).await? == 1)
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let won = self.writer().fetch_optional(LEASE, args![name, holder, now + ttl, now]).await?;
        Ok(won.map(|r| r.text("holder")).transpose()?.as_deref() == Some(holder))
    }
}
