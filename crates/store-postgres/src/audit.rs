use async_trait::async_trait;
use portcullis_store::{AuditEvent, AuditOutcome, AuditRepo, NewAuditEvent, StoreError};
use sqlx::Row;

use crate::{PgStore, backend_err};

#[async_trait]
impl AuditRepo for PgStore {
    async fn record_audit(&self, e: &NewAuditEvent) -> Result<i64, StoreError> {
        // Instants are kept to the second, as in the SQLite backend.
        let at = e.at.replace_nanosecond(0).unwrap_or(e.at);
        sqlx::query_scalar(
            "INSERT INTO audit_events (at, kind, outcome, user_id, ip, user_agent, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING id",
        )
        .bind(at)
        .bind(&e.kind)
        .bind(e.outcome.as_str())
        .bind(e.user_id)
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(e.detail.to_string())
        .fetch_one(self.pool())
        .await
        .map_err(backend_err)
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, kind, outcome, user_id, ip, user_agent, detail::text AS detail
             FROM audit_events ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(backend_err)?;
        rows.iter()
            .map(|row| {
                let detail: String = row.get("detail");
                Ok(AuditEvent {
                    id: row.get("id"),
                    event: NewAuditEvent {
                        at: row.get("at"),
                        kind: row.get("kind"),
                        outcome: AuditOutcome::parse(row.get("outcome"))?,
                        user_id: row.get("user_id"),
                        ip: row.get("ip"),
                        user_agent: row.get("user_agent"),
                        detail: serde_json::from_str(&detail)
                            .map_err(|_| StoreError::Corrupt("audit_events.detail".into()))?,
                    },
                })
            })
            .collect()
    }
}
