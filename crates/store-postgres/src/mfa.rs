use async_trait::async_trait;
use portcullis_store::{
    EndedAccess, Enrollment, FactorRef, MfaRepo, NewMail, PasskeyRow, StoreError, TotpRow,
};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::grants::end_access;
use crate::outbox::insert_mails;
use crate::users::to_second;
use crate::{PgStore, backend_err};

const PASSKEY_COLUMNS: &str = "id, user_id, credential_id, name, passkey, created_at, last_used_at";

fn passkey(row: &PgRow) -> PasskeyRow {
    PasskeyRow {
        id: row.get("id"),
        user_id: row.get("user_id"),
        credential_id: row.get("credential_id"),
        name: row.get("name"),
        passkey: row.get("passkey"),
        created_at: row.get("created_at"),
        last_used_at: row.get("last_used_at"),
    }
}

#[async_trait]
impl MfaRepo for PgStore {
    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<PasskeyRow>, StoreError> {
        let sql =
            format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_all(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(rows.iter().map(passkey).collect())
    }

    async fn find_passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<PasskeyRow>, StoreError> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(credential_id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(row.as_ref().map(passkey))
    }

    async fn add_passkey(&self, p: &PasskeyRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.id)
        .bind(p.user_id)
        .bind(&p.credential_id)
        .bind(&p.name)
        .bind(&p.passkey)
        .bind(to_second(p.created_at))
        .bind(p.last_used_at.map(to_second))
        .execute(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn record_passkey_use(
        &self,
        id: Uuid,
        passkey: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3")
            .bind(passkey)
            .bind(to_second(at))
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn remove_factor(
        &self,
        user_id: Uuid,
        factor: FactorRef,
        keep_session: Option<&str>,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<Option<EndedAccess>, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        // The user row first: a concurrent sign-in or removal of the same
        // user waits here, so "no factor left" below is decided alone.
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        let removed = match factor {
            FactorRef::Passkey(id) => sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?
                .rows_affected(),
            FactorRef::Totp => sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?
                .rows_affected(),
            FactorRef::All => {
                let mut removed = 0;
                for table in ["passkeys", "totp_secrets", "recovery_codes"] {
                    let sql = format!("DELETE FROM {table} WHERE user_id = $1");
                    removed += sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?
                        .rows_affected();
                }
                removed
            }
        };
        if removed == 0 && factor != FactorRef::All {
            return Ok(None);
        }
        // Recovery codes back up a passkey or an app: none left, none kept.
        sqlx::query(
            "DELETE FROM recovery_codes WHERE user_id = $1
               AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)
               AND NOT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NOT NULL)",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        let ended = end_access(&mut tx, user_id, keep_session, now).await?;
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(Some(ended))
    }

    async fn enroll_factor(
        &self,
        user_id: Uuid,
        enrollment: Enrollment<'_>,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        let codes = match enrollment {
            Enrollment::Totp { step, recovery_codes } => {
                let done = sqlx::query(
                    "UPDATE totp_secrets SET last_step = $1, confirmed_at = $2
                     WHERE user_id = $3 AND confirmed_at IS NULL AND (last_step IS NULL OR last_step < $1)",
                )
                .bind(step)
                .bind(to_second(now))
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                recovery_codes
            }
            Enrollment::Passkey(p) => {
                sqlx::query(
                    "INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at, last_used_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(p.id)
                .bind(user_id)
                .bind(&p.credential_id)
                .bind(&p.name)
                .bind(&p.passkey)
                .bind(to_second(p.created_at))
                .bind(p.last_used_at.map(to_second))
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
                None
            }
            Enrollment::RecoveryCodes(hashes) => Some(hashes),
        };
        if let Some(hashes) = codes {
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at)
                 SELECT $1, h, NULL, $3 FROM UNNEST($2::text[]) AS h",
            )
            .bind(user_id)
            .bind(hashes)
            .bind(to_second(now))
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        }
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(true)
    }

    async fn find_totp(&self, user_id: Uuid) -> Result<Option<TotpRow>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, secret_sealed, confirmed_at, last_step, created_at FROM totp_secrets WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(row.map(|row| TotpRow {
            user_id: row.get("user_id"),
            secret_sealed: row.get("secret_sealed"),
            confirmed_at: row.get("confirmed_at"),
            last_step: row.get("last_step"),
            created_at: row.get("created_at"),
        }))
    }

    async fn begin_totp(
        &self,
        user_id: Uuid,
        secret_sealed: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO totp_secrets (user_id, secret_sealed, confirmed_at, last_step, created_at)
             VALUES ($1, $2, NULL, NULL, $3)
             ON CONFLICT (user_id) DO UPDATE
                SET secret_sealed = EXCLUDED.secret_sealed, created_at = EXCLUDED.created_at, last_step = NULL
                WHERE totp_secrets.confirmed_at IS NULL",
        )
        .bind(user_id)
        .bind(secret_sealed)
        .bind(to_second(at))
        .execute(self.pool())
        .await
        .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("an authenticator app is already enrolled".into()));
        }
        Ok(())
    }

    async fn accept_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        confirming: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = if confirming {
            "UPDATE totp_secrets SET last_step = $1, confirmed_at = $2
             WHERE user_id = $3 AND confirmed_at IS NULL AND (last_step IS NULL OR last_step < $1)"
        } else {
            "UPDATE totp_secrets SET last_step = $1, confirmed_at = COALESCE(confirmed_at, $2)
             WHERE user_id = $3 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)"
        };
        let done = sqlx::query(sql)
            .bind(step)
            .bind(to_second(at))
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: &[String],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at)
             SELECT $1, h, NULL, $3 FROM UNNEST($2::text[]) AS h",
        )
        .bind(user_id)
        .bind(hashes)
        .bind(to_second(at))
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        tx.commit().await.map_err(backend_err)
    }

    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(to_second(at))
        .bind(user_id)
        .bind(hash)
        .execute(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_recovery_codes(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id)
                .fetch_one(self.pool())
                .await
                .map_err(backend_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn set_mfa_required(
        &self,
        user_id: Uuid,
        required: bool,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("UPDATE users SET mfa_required = $1, updated_at = $2 WHERE id = $3")
            .bind(required)
            .bind(to_second(at))
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn put_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_states (session_id_hash, kind, payload, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (session_id_hash, kind) DO UPDATE
                SET payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at",
        )
        .bind(session_id_hash)
        .bind(kind)
        .bind(payload)
        .bind(to_second(expires_at))
        .execute(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn find_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT payload FROM session_states WHERE session_id_hash = $1 AND kind = $2 AND expires_at > $3",
        )
        .bind(session_id_hash)
        .bind(kind)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(backend_err)
    }

    async fn take_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let taken: Option<(String, OffsetDateTime)> = sqlx::query_as(
            "DELETE FROM session_states WHERE session_id_hash = $1 AND kind = $2 RETURNING payload, expires_at",
        )
        .bind(session_id_hash)
        .bind(kind)
        .fetch_optional(self.pool())
        .await
        .map_err(backend_err)?;
        Ok(taken.filter(|(_, expires)| *expires > now).map(|(p, _)| p))
    }

    async fn delete_expired_session_states(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM session_states WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}
