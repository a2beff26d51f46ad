//! The mail outbox, one of the job queues (see [`super::Queue`]).

use super::{Db, Exec, Queue, Row, Tx, count};
use crate::{MailStatus, NewMail, OutboxMail, OutboxRepo, OutboxStats, StoreError};
use async_trait::async_trait;
use time::OffsetDateTime;

/// The columns a claim returns.
pub const COLUMNS: &str =
    "id, recipient, subject, body_text, body_html, status, attempts, created_at, next_attempt_at";

const INSERT: &str =
    "INSERT INTO mail_outbox (id, recipient, subject, body_text, body_html, created_at, next_attempt_at)
                      VALUES ($1, $2, $3, $4, $5, $6, $6)";
const BY_ID: &str =
    "SELECT id, recipient, subject, body_text, body_html, status, attempts, created_at, next_attempt_at
                     FROM mail_outbox WHERE id = $1";
const SENT: &str =
    "UPDATE mail_outbox SET status = 'sent', sent_at = $1, locked_until = NULL, last_error = NULL
                    WHERE id = $2";
const RETRY: &str = "UPDATE mail_outbox SET next_attempt_at = $1, locked_until = NULL, last_error = $2
                     WHERE id = $3 AND status = 'pending'";
const FAIL: &str = "UPDATE mail_outbox SET status = 'failed', locked_until = NULL, last_error = $1
                    WHERE id = $2 AND status = 'pending'";
const STATS: &str =
    "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM mail_outbox WHERE status = 'pending'";

fn mail(row: &impl Row) -> Result<OutboxMail, StoreError> {
    Ok(OutboxMail {
        id: row.text("id")?,
        mail: NewMail {
            to: row.text("recipient")?,
            subject: row.text("subject")?,
            text: row.text("body_text")?,
            html: row.text("body_html")?,
        },
        status: MailStatus::parse(&row.text("status")?)?,
        attempts: u32::try_from(row.int("attempts")?).map_err(|_| super::corrupt("attempts"))?,
        created_at: row.at("created_at")?,
        next_attempt_at: row.at("next_attempt_at")?,
    })
}

/// Writes `mails` on `db`, due at `now`. Call it inside the transaction of
/// the change that causes the mails, so both commit or neither does.
pub(crate) async fn insert_mails(
    db: &mut impl Exec,
    mails: &[NewMail],
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::with_capacity(mails.len());
    for m in mails {
        let id = uuid::Uuid::new_v4().simple().to_string();
        db.execute(INSERT, args![&id, &m.to, &m.subject, &m.text, &m.html, now]).await?;
        ids.push(id);
    }
    Ok(ids)
}

#[async_trait]
impl<D: Db> OutboxRepo for D {
    async fn enqueue_mails(&self, mails: &[NewMail], now: OffsetDateTime) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        let ids = insert_mails(&mut tx, mails, now).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn claim_due_mail(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Option<OutboxMail>, StoreError> {
        super::claim(self, Queue::Mail, now, lease_until, 1).await?.first().map(mail).transpose()
    }

    async fn mark_mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.writer().execute(SENT, args![now, id]).await.map(drop)
    }

    async fn retry_mail(
        &self,
        id: &str,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        self.writer().execute(RETRY, args![next_attempt_at, error, id]).await.map(drop)
    }

    async fn fail_mail(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.writer().execute(FAIL, args![error, id]).await.map(drop)
    }

    async fn find_mail(&self, id: &str) -> Result<Option<OutboxMail>, StoreError> {
        self.reader().fetch_optional(BY_ID, args![id]).await?.as_ref().map(mail).transpose()
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let row = self.reader().fetch_one(STATS, args![]).await?;
        Ok(OutboxStats { pending: count(row.int("pending")?), oldest_pending_at: row.opt_at("oldest")? })
    }
}
