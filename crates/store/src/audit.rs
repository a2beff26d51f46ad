//! The audit log: who did what, when, from where, and how it ended.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// It did what was asked.
    Success,
    /// It was refused (wrong credentials, locked out, forbidden…).
    Failure,
}

impl AuditOutcome {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "success" => Ok(Self::Success),
            "failure" => Ok(Self::Failure),
            other => Err(StoreError::Corrupt(format!("audit outcome {other:?}"))),
        }
    }
}

/// An event to record. Never put a secret, token or code in any field.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// When it happened (from the clock).
    pub at: OffsetDateTime,
    /// Dotted event name, e.g. `signin.failure`, `user.created`.
    pub kind: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The account concerned, when known.
    pub user_id: Option<Uuid>,
    /// The client IP address, when from a request.
    pub ip: Option<String>,
    /// The client's user agent, when from a request.
    pub user_agent: Option<String>,
    /// Extra structured facts (no secrets).
    pub detail: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Monotonic id (insertion order).
    pub id: i64,
    /// The event as recorded.
    pub event: NewAuditEvent,
}

/// A page of [`AuditRepo::query_audit`]: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events about this account.
    pub user_id: Option<Uuid>,
    /// Events of this kind (`signin.failure`), or, ending with `.`, of
    /// this family (`signin.` matches `signin.success`, `signin.failure`,
    /// `signin.lockout`…). Compared exactly, case included. Blank: any.
    pub kind: Option<String>,
    /// Events that ended this way.
    pub outcome: Option<AuditOutcome>,
    /// Events from this client IP (exactly as recorded).
    pub ip: Option<String>,
    /// Events at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Events before this instant (exclusive, so consecutive ranges do not overlap).
    pub to: Option<OffsetDateTime>,
    /// The keyset cursor: only events older than this id (the last row of
    /// the previous page). Events recorded meanwhile never shift a page.
    pub before_id: Option<i64>,
    /// At most this many events.
    pub limit: u32,
}

/// Append-only audit log.
#[async_trait]
pub trait AuditRepo {
    /// Appends an event; returns its id.
    async fn record_audit(&self, event: &NewAuditEvent) -> Result<i64, StoreError>;

    /// The most recent events, newest first.
    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;

    /// A page of the events matching `filter`, newest (highest id) first.
    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;

    /// How many events of `kind` (exact, or a family ending with `.`, as in
    /// [`AuditFilter::kind`]) ended with `outcome` (any when `None`) at or
    /// after `since`: the dashboard's sign-ins, failures and lockouts.
    async fn count_audit_since(
        &self,
        kind: &str,
        outcome: Option<AuditOutcome>,
        since: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}
