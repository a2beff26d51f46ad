use portcullis_store::{AuditOutcome, NewAuditEvent};
use portcullis_tests::{Backend, both_backends, test_store};
use serde_json::json;
use time::macros::datetime;

pub(crate) fn event(kind: &str, outcome: AuditOutcome, minute: u8) -> NewAuditEvent {
    NewAuditEvent {
        at: datetime!(2026-03-01 10:00 UTC).replace_minute(minute).expect("minute"),
        kind: kind.into(),
        outcome,
        user_id: Some(uuid::Uuid::new_v4()),
        ip: Some("192.0.2.7".into()),
        user_agent: Some("Mozilla/5.0 (test)".into()),
        detail: json!({ "method": "password", "attempt": 3 }),
    }
}

async fn audit_events_round_trip_newest_first(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let first = event("signin.failure", AuditOutcome::Failure, 1);
    let second = event("signin.success", AuditOutcome::Success, 2);
    let mut anonymous = event("signin.lockout", AuditOutcome::Failure, 3);
    anonymous.user_id = None;
    anonymous.ip = None;
    anonymous.user_agent = None;

    let id1 = store.record_audit(&first).await.expect("record");
    let id2 = store.record_audit(&second).await.expect("record");
    let id3 = store.record_audit(&anonymous).await.expect("record");
    assert!(id1 < id2 && id2 < id3);

    let recent = store.recent_audit(10).await.expect("recent");
    let events: Vec<_> = recent.iter().map(|e| e.event.clone()).collect();
    assert_eq!(events, vec![anonymous, second.clone(), first]);
    assert_eq!(recent[0].id, id3);

    let limited = store.recent_audit(1).await.expect("recent");
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].id, id3);
}

async fn audit_instants_are_kept_to_the_second(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let mut e = event("user.created", AuditOutcome::Success, 5);
    e.at = datetime!(2026-03-01 10:05:07.654321 UTC);
    store.record_audit(&e).await.expect("record");
    let back = store.recent_audit(1).await.expect("recent");
    assert_eq!(back[0].event.at, datetime!(2026-03-01 10:05:07 UTC));
}

both_backends!(audit_events_round_trip_newest_first, audit_instants_are_kept_to_the_second);
