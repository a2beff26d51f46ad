//! Mailed single-use tokens on SQLite. Every write transaction starts with
//! `BEGIN IMMEDIATE`, so two uses of one token serialise and the second
//! finds it used.

use async_trait::async_trait;
use portcullis_store::{EmailToken, EmailTokenPurpose, EmailTokenRepo, NewMail, StoreError, normalise_login};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::grants::after_session_end;
use crate::outbox::insert_mails;
use crate::{SqliteStore, backend_err};

const COLUMNS: &str =
    "token_hash, purpose, user_id, new_email, session_hash, created_at, expires_at, used_at";

fn instant(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| StoreError::Corrupt("email token instant".into()))
}

fn token(row: &SqliteRow) -> Result<EmailToken, StoreError> {
    let purpose: String = row.get("purpose");
    let user_id: String = row.get("user_id");
    let used_at: Option<i64> = row.get("used_at");
    Ok(EmailToken {
        token_hash: row.get("token_hash"),
        purpose: EmailTokenPurpose::parse(&purpose)?,
        user_id: user_id.parse().map_err(|_| StoreError::Corrupt("email_tokens.user_id".into()))?,
        new_email: row.get("new_email"),
        session_hash: row.get("session_hash"),
        created_at: instant(row.get("created_at"))?,
        expires_at: instant(row.get("expires_at"))?,
        used_at: used_at.map(instant).transpose()?,
    })
}

/// Marks a live token of `purpose` used on `conn`; returns it, or `None`.
async fn consume(
    conn: &mut SqliteConnection,
    token_hash: &str,
    purpose: EmailTokenPurpose,
    now: OffsetDateTime,
) -> Result<Option<EmailToken>, StoreError> {
    let sql = format!(
        "UPDATE email_tokens SET used_at = ?1
         WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now.unix_timestamp())
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend_err)?;
    row.as_ref().map(token).transpose()
}

impl SqliteStore {
    async fn begin_immediate(&self) -> Result<Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.write_pool().begin_with("BEGIN IMMEDIATE").await.map_err(backend_err)
    }
}

#[async_trait]
impl EmailTokenRepo for SqliteStore {
    async fn create_email_token(&self, t: &EmailToken, mails: &[NewMail]) -> Result<(), StoreError> {
        let mut tx = self.begin_immediate().await?;
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, purpose, user_id, new_email, session_hash, created_at, expires_at, used_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.token_hash)
        .bind(t.purpose.as_str())
        .bind(t.user_id.to_string())
        .bind(&t.new_email)
        .bind(&t.session_hash)
        .bind(t.created_at.unix_timestamp())
        .bind(t.expires_at.unix_timestamp())
        .bind(t.used_at.map(OffsetDateTime::unix_timestamp))
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        insert_mails(&mut tx, mails, t.created_at).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn find_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
    ) -> Result<Option<EmailToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM email_tokens WHERE token_hash = ? AND purpose = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(purpose.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(token).transpose()
    }

    async fn consume_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<EmailToken>, StoreError> {
        let mut tx = self.begin_immediate().await?;
        let used = consume(&mut tx, token_hash, purpose, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(used)
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<Option<Uuid>, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.begin_immediate().await?;
        let Some(t) = consume(&mut tx, token_hash, EmailTokenPurpose::Reset, now).await? else {
            return Ok(None);
        };
        let user_id = t.user_id.to_string();
        let at = now.unix_timestamp();
        let done = sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
            .bind(password_hash)
            .bind(at)
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let sids: Vec<String> = sqlx::query_scalar("DELETE FROM sessions WHERE user_id = ? RETURNING sid")
            .bind(&user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend_err)?;
        for sid in &sids {
            after_session_end(&mut tx, sid, Some(&user_id), now).await?;
        }
        sqlx::query("UPDATE grants SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL")
            .bind(at)
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        sqlx::query(
            "UPDATE email_tokens SET used_at = ?1
             WHERE user_id = ?2 AND purpose IN ('reset', 'magic_link') AND used_at IS NULL",
        )
        .bind(at)
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(Some(t.user_id))
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<Option<Uuid>, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.begin_immediate().await?;
        let Some(t) = consume(&mut tx, token_hash, EmailTokenPurpose::VerifyEmail, now).await? else {
            return Ok(None);
        };
        let user_id = t.user_id.to_string();
        let done = match &t.new_email {
            Some(email) => sqlx::query(
                "UPDATE users SET email = ?, email_norm = ?, email_verified = 1, updated_at = ? WHERE id = ?",
            )
            .bind(email)
            .bind(normalise_login(email))
            .bind(now.unix_timestamp())
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?,
            None => sqlx::query("UPDATE users SET email_verified = 1, updated_at = ? WHERE id = ?")
                .bind(now.unix_timestamp())
                .bind(&user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?,
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(Some(t.user_id))
    }

    async fn set_password_hash_with_mails(
        &self,
        user_id: Uuid,
        password_hash: &str,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<(), StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.begin_immediate().await?;
        let done = sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
            .bind(password_hash)
            .bind(now.unix_timestamp())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn delete_expired_email_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM email_tokens WHERE expires_at <= ?")
            .bind(now.unix_timestamp())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}
