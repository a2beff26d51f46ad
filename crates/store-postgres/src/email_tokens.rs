//! Mailed single-use tokens on PostgreSQL. Consuming is a conditional
//! `UPDATE … RETURNING`: of two concurrent uses, the second waits for the
//! first's row lock, then finds the token used.

use async_trait::async_trait;
use portcullis_store::{
    EmailToken, EmailTokenPurpose, EmailTokenRepo, LinkRequestRow, NewMail, StoreError, normalise_login,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::grants::end_access;
use crate::outbox::insert_mails;
use crate::users::to_second;
use crate::{PgStore, backend_err};

const COLUMNS: &str =
    "token_hash, purpose, user_id, new_email, session_hash, created_at, expires_at, used_at, account_stamp";

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
        account_stamp: row.get("account_stamp"),
    })
}

async fn insert_token(conn: &mut PgConnection, t: &EmailToken) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO email_tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&t.token_hash)
        .bind(t.purpose.as_str())
        .bind(t.user_id)
        .bind(&t.new_email)
        .bind(&t.session_hash)
        .bind(to_second(t.created_at))
        .bind(to_second(t.expires_at))
        .bind(t.used_at.map(to_second))
        .bind(&t.account_stamp)
        .execute(&mut *conn)
        .await
        .map_err(backend_err)?;
    Ok(())
}

const LINK_REQUEST_COLUMNS: &str = "id, purpose, user_id, session_hash, resume, ip, user_agent, created_at";

fn link_request(row: &PgRow) -> Result<LinkRequestRow, StoreError> {
    let purpose: String = row.get("purpose");
    Ok(LinkRequestRow {
        id: row.get("id"),
        purpose: EmailTokenPurpose::parse(&purpose)?,
        user_id: row.get("user_id"),
        session_hash: row.get("session_hash"),
        resume: row.get("resume"),
        ip: row.get("ip"),
        user_agent: row.get("user_agent"),
        created_at: row.get("created_at"),
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
           AND (account_stamp IS NULL
                OR account_stamp = (SELECT security_stamp FROM users WHERE users.id = email_tokens.user_id))
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
        insert_token(&mut tx, t).await?;
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
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, security_stamp = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(password_hash)
        .bind(portcullis_core::random::hex_id())
        .bind(at)
        .bind(t.user_id)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        end_access(&mut tx, t.user_id, None, now).await?;
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
                "UPDATE users SET email = $1, email_norm = $2, email_verified = TRUE, security_stamp = $3,
                                  updated_at = $4
                 WHERE id = $5",
            )
            .bind(email)
            .bind(normalise_login(email))
            .bind(portcullis_core::random::hex_id())
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

    async fn create_link_request(&self, r: &LinkRequestRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO link_requests ({LINK_REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&r.id)
            .bind(r.purpose.as_str())
            .bind(r.user_id)
            .bind(&r.session_hash)
            .bind(&r.resume)
            .bind(&r.ip)
            .bind(&r.user_agent)
            .bind(to_second(r.created_at))
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn claim_link_requests(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<LinkRequestRow>, StoreError> {
        // Instances claim side by side: a row another one is claiming is skipped.
        let sql = format!(
            "UPDATE link_requests SET locked_until = $1
             WHERE id IN (SELECT id FROM link_requests WHERE locked_until IS NULL OR locked_until <= $2
                          ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING {LINK_REQUEST_COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_second(lease_until))
            .bind(to_second(now))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(backend_err)?;
        rows.iter().map(link_request).collect()
    }

    async fn complete_link_request(
        &self,
        id: &str,
        token: Option<&EmailToken>,
        mails: &[NewMail],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        let deleted: Option<String> =
            sqlx::query_scalar("DELETE FROM link_requests WHERE id = $1 RETURNING id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend_err)?;
        // Completed meanwhile by a worker whose lease had run out: nothing more.
        if deleted.is_none() {
            return Ok(());
        }
        if let Some(t) = token {
            insert_token(&mut tx, t).await?;
            insert_mails(&mut tx, mails, t.created_at).await?;
        }
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
