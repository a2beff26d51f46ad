//! The audit log.

use super::{Db, Exec, Row};
use crate::{AuditEvent, AuditOutcome, AuditRepo, NewAuditEvent, StoreError};
use async_trait::async_trait;

const INSERT: &str = "INSERT INTO audit_events (at, kind, outcome, user_id, ip, user_agent, detail)
                      VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
const RECENT: &str = "SELECT id, at, kind, outcome, user_id, ip, user_agent, detail
                      FROM audit_events ORDER BY id DESC LIMIT $1";

fn event(row: &impl Row) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: row.int("id")?,
        event: NewAuditEvent {
            at: row.at("at")?,
            kind: row.text("kind")?,
            outcome: AuditOutcome::parse(&row.text("outcome")?)?,
            user_id: row.opt_uuid("user_id")?,
            ip: row.opt_text("ip")?,
            user_agent: row.opt_text("user_agent")?,
            detail: row.json("detail")?,
        },
    })
}

/// Appends `e` on `db` (a transaction's, so the event commits with its change).
pub(crate) async fn record(db: &mut impl Exec, e: &NewAuditEvent) -> Result<i64, StoreError> {
    let args = args![e.at, &e.kind, e.outcome.as_str(), e.user_id, &e.ip, &e.user_agent, &e.detail];
    db.fetch_one(INSERT, args).await?.int("id")
}

#[async_trait]
impl<D: Db> AuditRepo for D {
    async fn record_audit(&self, e: &NewAuditEvent) -> Result<i64, StoreError> {
        record(&mut self.writer(), e).await
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.reader().fetch_all(RECENT, args![i64::from(limit)]).await?.iter().map(event).collect()
    }
}
