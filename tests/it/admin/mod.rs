//! The store's groundwork for the admin console (issue 16): groups and
//! their members, user search with keyset pagination, the dashboard's
//! counts, the audit log's filters and the list of live sessions, on both
//! backends; and the console over HTTP (`console`: who may enter, on every
//! route; `clients`: the client pages; `api`, `api_schema`: the admin REST
//! API; `journey`: acceptance 1, from the setup link to a disabled user's
//! refused tokens, in Chromium).

pub(crate) mod api;
mod api_schema;
mod audit;
mod browser;
mod clients;
mod connected;
pub(crate) mod console;
mod groups;
mod groups_claim;
mod invite;
mod journey;
mod search_plan;
mod sessions;
mod users;

use portcullis_store::{AuditOutcome, NewAuditEvent, Store};
use serde_json::json;
use uuid::Uuid;

use crate::grants::T0;

/// An administrator's audit event about `user_id`.
pub(crate) fn admin_event(kind: &str, user_id: Option<Uuid>) -> NewAuditEvent {
    NewAuditEvent {
        at: T0,
        kind: kind.into(),
        outcome: AuditOutcome::Success,
        user_id,
        ip: Some("192.0.2.9".into()),
        user_agent: Some("admin console".into()),
        detail: json!({ "admin": "root" }),
    }
}

/// The kinds of every audit event, oldest first.
pub(crate) async fn audit_kinds(store: &dyn Store) -> Vec<String> {
    let mut kinds: Vec<String> =
        store.recent_audit(1000).await.expect("audit").into_iter().map(|e| e.event.kind).collect();
    kinds.reverse();
    kinds
}
