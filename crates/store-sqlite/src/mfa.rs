use async_trait::async_trait;
use portcullis_store::{
    EndedAccess, Enrollment, FactorRef, MfaRepo, NewMail, PasskeyRow, StoreError, TotpRow,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::grants::end_access;
use crate::outbox::insert_mails;
use crate::{SqliteStore, backend_err};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn instant(secs: i64, what: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| corrupt(what))
}

fn uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    text.parse().map_err(|_| corrupt(what))
}

const PASSKEY_COLUMNS: &str = "id, user_id, credential_id, name, passkey, created_at, last_used_at";

fn passkey(row: &SqliteRow) -> Result<PasskeyRow, StoreError> {
    let last_used: Option<i64> = row.get("last_used_at");
    Ok(PasskeyRow {
        id: uuid(row.get("id"), "passkeys.id")?,
        user_id: uuid(row.get("user_id"), "passkeys.user_id")?,
        credential_id: row.get("credential_id"),
        name: row.get("name"),
        passkey: row.get("passkey"),
        created_at: instant(row.get("created_at"), "passkeys.created_at")?,
        last_used_at: last_used.map(|t| instant(t, "passkeys.last_used_at")).transpose()?,
    })
}

#[async_trait]
impl MfaRepo for SqliteStore {
    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<PasskeyRow>, StoreError> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = ? ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id.to_string())
            .fetch_all(self.pool())
            .await
            .map_err(backend_err)?;
        rows.iter().map(passkey).collect()
    }

    async fn find_passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<PasskeyRow>, StoreError> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(credential_id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(passkey).transpose()
    }

    async fn add_passkey(&self, p: &PasskeyRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at, last_used_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.id.to_string())
        .bind(p.user_id.to_string())
        .bind(&p.credential_id)
        .bind(&p.name)
        .bind(&p.passkey)
        .bind(p.created_at.unix_timestamp())
        .bind(p.last_used_at.map(OffsetDateTime::unix_timestamp))
        .execute(self.write_pool())
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
        sqlx::query("UPDATE passkeys SET passkey = ?, last_used_at = ? WHERE id = ?")
            .bind(passkey)
            .bind(at.unix_timestamp())
            .bind(id.to_string())
            .execute(self.write_pool())
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
        let user_id = user_id.to_string();
        let mut tx = self.begin_write().await?;
        let removed = match factor {
            FactorRef::Passkey(id) => sqlx::query("DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2")
                .bind(id.to_string())
                .bind(&user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?
                .rows_affected(),
            FactorRef::Totp => sqlx::query("DELETE FROM totp_secrets WHERE user_id = ?1")
                .bind(&user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?
                .rows_affected(),
            FactorRef::All => {
                let mut removed = 0;
                for table in ["passkeys", "totp_secrets", "recovery_codes"] {
                    let sql = format!("DELETE FROM {table} WHERE user_id = ?1");
                    removed += sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&user_id)
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
            "DELETE FROM recovery_codes WHERE user_id = ?1
               AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ?1 AND confirmed_at IS NOT NULL)",
        )
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        let ended = end_access(&mut tx, &user_id, keep_session, now).await?;
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
        let user = user_id.to_string();
        let mut tx = self.begin_write().await?;
        let codes = match enrollment {
            Enrollment::Totp { step, recovery_codes } => {
                let done = sqlx::query(
                    "UPDATE totp_secrets SET last_step = ?1, confirmed_at = ?2
                     WHERE user_id = ?3 AND confirmed_at IS NULL AND (last_step IS NULL OR last_step < ?1)",
                )
                .bind(step)
                .bind(now.unix_timestamp())
                .bind(&user)
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
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(p.id.to_string())
                .bind(&user)
                .bind(&p.credential_id)
                .bind(&p.name)
                .bind(&p.passkey)
                .bind(p.created_at.unix_timestamp())
                .bind(p.last_used_at.map(OffsetDateTime::unix_timestamp))
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
                None
            }
            Enrollment::RecoveryCodes(hashes) => Some(hashes),
        };
        if let Some(hashes) = codes {
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
                .bind(&user)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
            for hash in hashes {
                sqlx::query(
                    "INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)",
                )
                .bind(&user)
                .bind(hash)
                .bind(now.unix_timestamp())
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
            }
        }
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(true)
    }

    async fn find_totp(&self, user_id: Uuid) -> Result<Option<TotpRow>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, secret_sealed, confirmed_at, last_step, created_at FROM totp_secrets WHERE user_id = ?",
        )
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(backend_err)?;
        let Some(row) = row else { return Ok(None) };
        let confirmed: Option<i64> = row.get("confirmed_at");
        Ok(Some(TotpRow {
            user_id: uuid(row.get("user_id"), "totp_secrets.user_id")?,
            secret_sealed: row.get("secret_sealed"),
            confirmed_at: confirmed.map(|t| instant(t, "totp_secrets.confirmed_at")).transpose()?,
            last_step: row.get("last_step"),
            created_at: instant(row.get("created_at"), "totp_secrets.created_at")?,
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
             VALUES (?, ?, NULL, NULL, ?)
             ON CONFLICT (user_id) DO UPDATE
                SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, last_step = NULL
                WHERE totp_secrets.confirmed_at IS NULL",
        )
        .bind(user_id.to_string())
        .bind(secret_sealed)
        .bind(at.unix_timestamp())
        .execute(self.write_pool())
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
            "UPDATE totp_secrets SET last_step = ?1, confirmed_at = ?2
             WHERE user_id = ?3 AND confirmed_at IS NULL AND (last_step IS NULL OR last_step < ?1)"
        } else {
            "UPDATE totp_secrets SET last_step = ?1, confirmed_at = COALESCE(confirmed_at, ?2)
             WHERE user_id = ?3 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < ?1)"
        };
        let done = sqlx::query(sql)
            .bind(step)
            .bind(at.unix_timestamp())
            .bind(user_id.to_string())
            .execute(self.write_pool())
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
        let mut tx = self.write_pool().begin_with("BEGIN IMMEDIATE").await.map_err(backend_err)?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        for hash in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)",
            )
            .bind(user_id.to_string())
            .bind(hash)
            .bind(at.unix_timestamp())
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        }
        tx.commit().await.map_err(backend_err)
    }

    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(at.unix_timestamp())
        .bind(user_id.to_string())
        .bind(hash)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_recovery_codes(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL")
                .bind(user_id.to_string())
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
        let done = sqlx::query("UPDATE users SET mfa_required = ?, updated_at = ? WHERE id = ?")
            .bind(required)
            .bind(at.unix_timestamp())
            .bind(user_id.to_string())
            .execute(self.write_pool())
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
            "INSERT INTO session_states (session_id_hash, kind, payload, expires_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (session_id_hash, kind) DO UPDATE
                SET payload = excluded.payload, expires_at = excluded.expires_at",
        )
        .bind(session_id_hash)
        .bind(kind)
        .bind(payload)
        .bind(expires_at.unix_timestamp())
        .execute(self.write_pool())
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
            "SELECT payload FROM session_states WHERE session_id_hash = ? AND kind = ? AND expires_at > ?",
        )
        .bind(session_id_hash)
        .bind(kind)
        .bind(now.unix_timestamp())
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
        let payload: Option<(String, i64)> = sqlx::query_as(
            "DELETE FROM session_states WHERE session_id_hash = ? AND kind = ? RETURNING payload, expires_at",
        )
        .bind(session_id_hash)
        .bind(kind)
        .fetch_optional(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(payload.filter(|(_, expires)| *expires > now.unix_timestamp()).map(|(p, _)| p))
    }

    async fn delete_expired_session_states(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM session_states WHERE expires_at <= ?")
            .bind(now.unix_timestamp())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}
