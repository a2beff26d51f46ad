//! The durable mail outbox. A mail is rendered when it is caused and written
//! here, ideally in the same transaction as the change that causes it; the
//! mailer's worker claims due mails under a lease, sends them, and marks
//! them sent only after the SMTP server accepted them.
//!
//! Atomic "change + enqueue": each backend has a crate-private
//! `insert_mails(conn, mails, now)` that runs on an open transaction.
//! A repository method that changes state and must notify (say
//! `reset_password(user, hash, mails: &[NewMail])`) opens one transaction,
//! makes its change, calls `insert_mails` on the same connection and
//! commits: either both happen or neither does. [`OutboxRepo::enqueue_mails`]
//! is that helper in a transaction of its own, for mails with no change.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;

/// A rendered mail waiting to be written to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Where a mail is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    /// Waiting to be sent (or being sent under a lease).
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// Given up on after too long.
    Failed,
}

impl MailStatus {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }

    /// Parses the stored value.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(MailStatus::Pending),
            "sent" => Ok(MailStatus::Sent),
            "failed" => Ok(MailStatus::Failed),
            other => Err(StoreError::Corrupt(format!("mail status {other:?}"))),
        }
    }
}

/// A mail in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Stable id; also the mail's Message-ID, so a duplicate is recognisable.
    pub id: String,
    /// The rendered mail.
    pub mail: NewMail,
    /// Where it is.
    pub status: MailStatus,
    /// How many times a worker claimed it.
    pub attempts: u32,
    /// When it was enqueued.
    pub created_at: OffsetDateTime,
    /// When it is next due.
    pub next_attempt_at: OffsetDateTime,
}

/// Counts for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Mails not yet sent nor failed.
    pub pending: u64,
    /// When the oldest pending mail was enqueued.
    pub oldest_pending_at: Option<OffsetDateTime>,
}

/// The mail outbox.
#[async_trait]
pub trait OutboxRepo {
    /// Writes `mails` (in one transaction), due at `now`; returns their ids.
    async fn enqueue_mails(&self, mails: &[NewMail], now: OffsetDateTime) -> Result<Vec<String>, StoreError>;

    /// Claims the oldest pending mail due at `now` whose lease (if any) has
    /// expired, leasing it until `lease_until` and counting an attempt.
    /// Two workers never claim the same mail within a lease.
    async fn claim_due_mail(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Option<OutboxMail>, StoreError>;

    /// Marks a mail sent (after the server's 250) and releases its lease.
    async fn mark_mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError>;

    /// Releases the lease and makes the mail due again at `next_attempt_at`.
    async fn retry_mail(
        &self,
        id: &str,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Gives up on a mail for good.
    async fn fail_mail(&self, id: &str, error: &str) -> Result<(), StoreError>;

    /// Looks a mail up by id.
    async fn find_mail(&self, id: &str) -> Result<Option<OutboxMail>, StoreError>;

    /// Pending count and oldest pending instant.
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError>;
}
