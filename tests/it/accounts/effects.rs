//! A security change and its [`Effects`] (audit events, notices, the acting
//! session's new id) commit together or not at all, on both backends.

use portcullis_store::{
    AuditOutcome, Effects, Enrollment, FactorRef, NewAuditEvent, NewMail, PasskeyRow, Rotation, Store,
};
use portcullis_tests::{Backend, both_backends, test_store};
use serde_json::json;
use uuid::Uuid;

use crate::grants::{T0, session, user};

fn event(kind: &str, user_id: Uuid) -> NewAuditEvent {
    NewAuditEvent {
        at: T0,
        kind: kind.into(),
        outcome: AuditOutcome::Success,
        user_id: Some(user_id),
        ip: Some("192.0.2.1".into()),
        user_agent: None,
        detail: json!({ "why": "test" }),
    }
}

fn notice(to: &str) -> Vec<NewMail> {
    vec![NewMail { to: to.into(), subject: "notice".into(), text: "t".into(), html: "<p>h</p>".into() }]
}

/// (audit kinds, pending mails, whether each id hash names a session).
async fn written(store: &dyn Store, sessions: &[&str]) -> (Vec<String>, u64, Vec<bool>) {
    let kinds = store.recent_audit(50).await.expect("audit").into_iter().map(|e| e.event.kind).collect();
    let pending = store.outbox_stats().await.expect("stats").pending;
    let mut live = Vec::new();
    for id_hash in sessions {
        live.push(store.find_session(id_hash).await.expect("find").is_some());
    }
    (kinds, pending, live)
}

async fn a_change_commits_with_its_audit_notice_and_new_session_id(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    store.create_session(&session("h1", "sid-1", Some(alice))).await.expect("acting");
    store.create_session(&session("h2", "sid-2", Some(alice))).await.expect("other");
    let renewed = session("h1-new", "sid-1", Some(alice));

    let audit = [event("password.changed", alice)];
    let mails = notice("alice@example.com");
    let rotate = Some(Rotation { old_id_hash: "h1", new: &renewed });
    let effects = Effects { audit: &audit, mails: &mails, rotate };
    let ended = store.change_password(alice, "$argon2id$new", T0, &effects).await.expect("change");

    assert_eq!(ended.sessions, 1, "the other session ended, the acting one kept");
    let (kinds, pending, live) = written(&*store, &["h1", "h1-new", "h2"]).await;
    assert_eq!(kinds, vec!["password.changed"]);
    assert_eq!(pending, 1);
    assert_eq!(live, vec![false, true, false], "the acting session lives on under its new id only");
    let row = store.recent_audit(1).await.expect("audit").remove(0).event;
    assert_eq!(row.detail, json!({ "why": "test", "sessions_ended": 1, "grants_revoked": 0 }));
    assert_eq!(row.ip.as_deref(), Some("192.0.2.1"));
}

async fn a_refused_change_writes_none_of_its_effects(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    store.create_session(&session("h1", "sid-1", Some(alice))).await.expect("acting");
    let renewed = session("h1-new", "sid-1", Some(alice));
    let audit = [event("factor.changed", alice)];
    let mails = notice("alice@example.com");
    let effects =
        Effects { audit: &audit, mails: &mails, rotate: Some(Rotation { old_id_hash: "h1", new: &renewed }) };

    // No app to remove.
    let removed = store.remove_factor(alice, FactorRef::Totp, T0, &effects).await.expect("remove");
    assert_eq!(removed, None);
    // No app being enrolled: the step is refused.
    let step = Enrollment::Totp { step: 7, recovery_codes: None };
    assert!(!store.enroll_factor(alice, step, T0, &effects).await.expect("enroll"));
    // A credential registered to someone else: the write fails.
    let bob = user(&*store, "bob").await;
    let taken = PasskeyRow {
        id: Uuid::new_v4(),
        user_id: bob,
        credential_id: "cred-1".into(),
        name: "key".into(),
        passkey: "{}".into(),
        created_at: T0,
        last_used_at: None,
    };
    store.enroll_factor(bob, Enrollment::Passkey(&taken), T0, &Effects::default()).await.expect("bob's");
    let copy = PasskeyRow { id: Uuid::new_v4(), user_id: alice, ..taken };
    let failed = store.enroll_factor(alice, Enrollment::Passkey(&copy), T0, &effects).await;
    assert!(failed.is_err(), "{failed:?}");
    // An unknown user.
    let missing = store.set_mfa_required(Uuid::new_v4(), true, T0, &effects).await;
    assert!(missing.is_err(), "{missing:?}");

    let (kinds, pending, live) = written(&*store, &["h1", "h1-new"]).await;
    assert_eq!(kinds, Vec::<String>::new(), "no audit row without its change");
    assert_eq!(pending, 0, "no notice without its change");
    assert_eq!(live, vec![true, false], "the session keeps its id");
}

async fn ending_a_session_writes_its_audit_event_once(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    store.create_session(&session("h1", "sid-1", Some(alice))).await.expect("session");
    let audit = [event("signout", alice)];
    assert_eq!(store.end_session("h1", T0, &Effects::audit(&audit)).await.expect("end"), Some(0));
    assert_eq!(store.end_session("h1", T0, &Effects::audit(&audit)).await.expect("again"), None);
    let (kinds, _, _) = written(&*store, &[]).await;
    assert_eq!(kinds, vec!["signout"], "the second end found no session and wrote nothing");
}

both_backends!(
    a_change_commits_with_its_audit_notice_and_new_session_id,
    a_refused_change_writes_none_of_its_effects,
    ending_a_session_writes_its_audit_event_once,
);
