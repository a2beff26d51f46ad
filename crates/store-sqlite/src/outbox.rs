//! The mail outbox on SQLite. Claiming is one `UPDATE … RETURNING`: SQLite
//! runs one writer at a time, so two workers never lease the same mail.

use async_trait::async_trait;
use portcullis_store::{MailStatus, NewMail, OutboxMail, OutboxRepo, OutboxStats, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

use crate::{SqliteStore, backend_err};

const COLUMNS: &str =
    "id, recipient, subject, body_text, body_html, status, attempts, created_at, next_attempt_at";

fn instant(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| StoreError::Corrupt("mail instant".into()))
}

fn mail(row: &SqliteRow) -> Result<OutboxMail, StoreError> {
    let status: String = row.get("status");
    let attempts: i64 = row.get("attempts");
    Ok(OutboxMail {
        id: row.get("id"),
        mail: NewMail {
            to: row.get("recipient"),
            subject: row.get("subject"),
            text: row.get("body_text"),
            html: row.get("body_html"),
        },
        status: MailStatus::parse(&status)?,
        attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt("mail attempts".into()))?,
        created_at: instant(row.get("created_at"))?,
        next_attempt_at: instant(row.get("next_attempt_at"))?,
    })
}

/// Writes `mails` on `conn`, due at `now`. Call it inside the transaction of
/// the change that causes the mails, so both commit or neither does.
pub(crate) async fn insert_mails(
    conn: &mut SqliteConnection,
    mails: &[NewMail],
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::with_capacity(mails.len());
    for m in mails {
        let id = uuid::Uuid::new_v4().simple().to_string();
        sqlx::query(
            "INSERT INTO mail_outbox (id, recipient, subject, body_text, body_html, created_at, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&m.to)
        .bind(&m.subject)
        .bind(&m.text)
        .bind(&m.html)
        .bind(now.unix_timestamp())
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await
        .map_err(backend_err)?;
        ids.push(id);
    }
    Ok(ids)
}

#[async_trait]
impl OutboxRepo for SqliteStore {
    async fn enqueue_mails(&self, mails: &[NewMail], now: OffsetDateTime) -> Result<Vec<String>, StoreError> {
        let mut tx = self.write_pool().begin().await.map_err(backend_err)?;
        let ids = insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(ids)
    }

    async fn claim_due_mail(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Option<OutboxMail>, StoreError> {
        let sql = format!(
            "UPDATE mail_outbox SET locked_until = ?1, attempts = attempts + 1
             WHERE id = (SELECT id FROM mail_outbox
                         WHERE status = 'pending' AND next_attempt_at <= ?2
                           AND (locked_until IS NULL OR locked_until <= ?2)
                         ORDER BY next_attempt_at, created_at, id LIMIT 1)
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease_until.unix_timestamp())
            .bind(now.unix_timestamp())
            .fetch_optional(self.write_pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(mail).transpose()
    }

    async fn mark_mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET status = 'sent', sent_at = ?, locked_until = NULL, last_error = NULL
             WHERE id = ?",
        )
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn retry_mail(
        &self,
        id: &str,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET next_attempt_at = ?, locked_until = NULL, last_error = ?
             WHERE id = ? AND status = 'pending'",
        )
        .bind(next_attempt_at.unix_timestamp())
        .bind(error)
        .bind(id)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn fail_mail(&self, id: &str, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET status = 'failed', locked_until = NULL, last_error = ?
             WHERE id = ? AND status = 'pending'",
        )
        .bind(error)
        .bind(id)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn find_mail(&self, id: &str) -> Result<Option<OutboxMail>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM mail_outbox WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(mail).transpose()
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM mail_outbox WHERE status = 'pending'",
        )
        .fetch_one(self.pool())
        .await
        .map_err(backend_err)?;
        let pending: i64 = row.get("pending");
        let oldest: Option<i64> = row.get("oldest");
        Ok(OutboxStats {
            pending: u64::try_from(pending).unwrap_or_default(),
            oldest_pending_at: oldest.map(instant).transpose()?,
        })
    }
}
