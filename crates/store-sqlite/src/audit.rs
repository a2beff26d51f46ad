use async_trait::async_trait;
use portcullis_store::{AuditEvent, AuditOutcome, AuditRepo, NewAuditEvent, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{SqliteStore, backend_err};

#[async_trait]
impl AuditRepo for SqliteStore {
    async fn record_audit(&self, e: &NewAuditEvent) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO audit_events (at, kind, outcome, user_id, ip, user_agent, detail)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(e.at.unix_timestamp())
        .bind(&e.kind)
        .bind(e.outcome.as_str())
        .bind(e.user_id.map(|u| u.to_string()))
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(e.detail.to_string())
        .fetch_one(self.write_pool())
        .await
        .map_err(backend_err)
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, kind, outcome, user_id, ip, user_agent, detail
             FROM audit_events ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(backend_err)?;
        rows.iter()
            .map(|row| {
                let corrupt = |what: &str| StoreError::Corrupt(format!("audit_events.{what}"));
                let user_id: Option<String> = row.get("user_id");
                let detail: String = row.get("detail");
                Ok(AuditEvent {
                    id: row.get("id"),
                    event: NewAuditEvent {
                        at: OffsetDateTime::from_unix_timestamp(row.get("at")).map_err(|_| corrupt("at"))?,
                        kind: row.get("kind"),
                        outcome: AuditOutcome::parse(row.get("outcome"))?,
                        user_id: user_id.map(|u| u.parse()).transpose().map_err(|_| corrupt("user_id"))?,
                        ip: row.get("ip"),
                        user_agent: row.get("user_agent"),
                        detail: serde_json::from_str(&detail).map_err(|_| corrupt("detail"))?,
                    },
                })
            })
            .collect()
    }
}
