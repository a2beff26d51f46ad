//! Audit events: a row through `AuditRepo` and a structured log line, never a secret.

use portcullis_store::{AuditOutcome, NewAuditEvent, Store};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a request came from (empty for the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// Records `kind` in the audit log and as a `target: "audit"` log line.
/// A failing audit write is logged, not propagated: the action already happened.
pub async fn record(
    store: &dyn Store,
    at: OffsetDateTime,
    kind: &str,
    outcome: AuditOutcome,
    user_id: Option<Uuid>,
    request: &RequestInfo,
    detail: serde_json::Value,
) {
    tracing::info!(
        target: "audit",
        event = kind,
        outcome = outcome.as_str(),
        user_id = user_id.map(|u| u.to_string()),
        ip = request.ip.as_deref(),
        user_agent = request.user_agent.as_deref(),
        at = %at,
        detail = %detail,
        "audit"
    );
    let event = NewAuditEvent {
        at,
        kind: kind.to_owned(),
        outcome,
        user_id,
        ip: request.ip.clone(),
        user_agent: request.user_agent.clone(),
        detail,
    };
    if let Err(e) = store.record_audit(&event).await {
        tracing::error!(error = %e, event = kind, "cannot write the audit log");
    }
}
