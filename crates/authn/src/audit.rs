//! Audit events: a row through `AuditRepo` and a structured log line, never a secret.
//!
//! A change writes its event in its own store transaction ([`event`] into
//! [`portcullis_store::Effects`], then [`logged`] once committed); an event
//! with no change to go with it (a refused attempt, a sign-in) is
//! [`record`]ed on its own.

use portcullis_store::{AuditOutcome, EndedAccess, NewAuditEvent, Store};
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

/// The event `kind` about `user_id`, from `request`, at `at`.
pub fn event(
    at: OffsetDateTime,
    kind: &str,
    outcome: AuditOutcome,
    user_id: Option<Uuid>,
    request: &RequestInfo,
    detail: serde_json::Value,
) -> NewAuditEvent {
    NewAuditEvent {
        at,
        kind: kind.to_owned(),
        outcome,
        user_id,
        ip: request.ip.clone(),
        user_agent: request.user_agent.clone(),
        detail,
    }
}

/// The `target: "audit"` log lines of `events`, committed with a change
/// that ended `ended` (annotated as the store annotated their rows).
pub fn logged(events: &[NewAuditEvent], ended: Option<EndedAccess>) {
    for e in events {
        match ended {
            Some(ended) => {
                let mut e = e.clone();
                ended.annotate(&mut e.detail);
                log(&e);
            }
            None => log(e),
        }
    }
}

fn log(e: &NewAuditEvent) {
    tracing::info!(
        target: "audit",
        event = e.kind,
        outcome = e.outcome.as_str(),
        user_id = e.user_id.map(|u| u.to_string()),
        ip = e.ip.as_deref(),
        user_agent = e.user_agent.as_deref(),
        at = %e.at,
        detail = %e.detail,
        "audit"
    );
}

/// Records `kind` on its own: the audit log row and the log line. A failing
/// audit write is logged, not propagated: what it records already happened
/// (or was refused).
pub async fn record(
    store: &dyn Store,
    at: OffsetDateTime,
    kind: &str,
    outcome: AuditOutcome,
    user_id: Option<Uuid>,
    request: &RequestInfo,
    detail: serde_json::Value,
) {
    let event = event(at, kind, outcome, user_id, request, detail);
    log(&event);
    if let Err(e) = store.record_audit(&event).await {
        tracing::error!(error = %e, event = kind, "cannot write the audit log");
    }
}
