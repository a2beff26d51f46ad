//! Mailed single-use tokens on PostgreSQL. Consuming is a conditional
//! `UPDATE … RETURNING`: of two concurrent uses, the second waits for the
//! first's row lock, then finds the token used.

use async_trait::async_trait;
use portcullis_store::{EmailToken, EmailTokenPurpose, EmailTokenRepo, NewMail, StoreError, normalise_login};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::grants::after_session_end;
use crate::outbox::insert_mails;
use crate::users::to_second;
use crate::{PgStore, backend_err};

const COLUMNS: &str =
    "token_hash, purpose, user_id, new_email, session_hash, created_at, expires_at, used_at";

fn token(row: &PgRow) -> Result<EmailToken, StoreError> {
    let purpose: String = row.get("purpose");
    Ok(EmailToken {
        token_hash: row.get("token_hash"),
        purpose: EmailTokenPurpose::parse(&purpose)?,
        user_id: row.get("user_id"),
        new_email: row.get("new_email"),
        session_hash: row.get("session_hash"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        used_at: row.get("used_at"),
    })
}

/// Marks a live token of `purpose` used on `conn`; returns it, or `None`.
async fn consume(
    conn: &mut PgConnection,
    token_hash: &str,
    purpose: EmailTokenPurpose,
    now: OffsetDateTime,
) -> Result<Option<EmailToken>, StoreError> {
    let sql = format!(
        "UPDATE email_tokens SET used_at = $1
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_second(now))
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend_err)?;
    row.as_ref().map(token).transpose()
}

#[async_trait]
impl EmailTokenRepo for PgStore {
    async fn create_email_token(&self, t: &EmailToken, mails: &[NewMail]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, purpose, user_id, new_email, session_hash, created_at, expires_at, used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.token_hash)
        .bind(t.purpose.as_str())
        .bind(t.user_id)
        .bind(&t.new_email)
        .bind(&t.session_hash)
        .bind(to_second(t.created_at))
        .bind(to_second(t.expires_at))
        .bind(t.used_at.map(to_second))
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
        let sql = format!("SELECT {COLUMNS} FROM email_tokens WHERE token_hash = $1 AND purpose = $2");
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
        let mut conn = self.pool().acquire().await.map_err(backend_err)?;
        consume(&mut conn, token_hash, purpose, now).await
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<Option<Uuid>, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        let Some(t) = consume(&mut tx, token_hash, EmailTokenPurpose::Reset, now).await? else {
            return Ok(None);
        };
        let at = to_second(now);
        let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(at)
            .bind(t.user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let sids: Vec<String> = sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING sid")
            .bind(t.user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend_err)?;
        for sid in &sids {
            after_session_end(&mut tx, sid, Some(t.user_id), now).await?;
        }
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(t.user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        sqlx::query(
            "UPDATE email_tokens SET used_at = $1
             WHERE user_id = $2 AND purpose IN ('reset', 'magic_link') AND used_at IS NULL",
        )
        .bind(at)
        .bind(t.user_id)
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
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        let Some(t) = consume(&mut tx, token_hash, EmailTokenPurpose::VerifyEmail, now).await? else {
            return Ok(None);
        };
        let at = to_second(now);
        let done = match &t.new_email {
            Some(email) => sqlx::query(
                "UPDATE users SET email = $1, email_norm = $2, email_verified = TRUE, updated_at = $3 WHERE id = $4",
            )
            .bind(email)
            .bind(normalise_login(email))
            .bind(at)
            .bind(t.user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?,
            None => sqlx::query("UPDATE users SET email_verified = TRUE, updated_at = $1 WHERE id = $2")
                .bind(at)
                .bind(t.user_id)
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
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(to_second(now))
            .bind(user_id)
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
        let done = sqlx::query("DELETE FROM email_tokens WHERE expires_at <= $1")
            .bind(to_second(now))
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}
