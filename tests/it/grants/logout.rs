//! Ending sessions (grants revoked, back-channel logouts queued), the
//! back-channel queue's leases, and sessions by `sid`, on both backends.

use std::collections::HashSet;

use portcullis_store::{BackchannelLogout, Effects, Store, StoreError};
use portcullis_tests::{Backend, both_backends, test_store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{T0, client, code, grant, session, user};

async fn add_grant(store: &dyn Store, id: &str, client_id: &str, user_id: Uuid, sid: &str, bound: bool) {
    let g = grant(id, client_id, user_id, Some(sid), bound);
    store.create_grant_with_code(&g, &code(&format!("code-{id}"), &g)).await.expect("create grant");
}

/// Every queued notification, claimed at `now` (each one once).
async fn claim_all(store: &dyn Store, now: OffsetDateTime) -> Vec<BackchannelLogout> {
    let mut claimed = Vec::new();
    while let Some(n) =
        store.claim_due_backchannel_logout(now, now + Duration::minutes(5)).await.expect("claim")
    {
        claimed.push(n);
    }
    claimed.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    claimed
}

async fn ending_a_session_revokes_its_grants_and_queues_one_logout_per_client(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp-a", true).await;
    client(&*store, "rp-b", false).await;
    client(&*store, "rp-c", true).await;
    store.create_session(&session("h1", "sid-1", Some(alice))).await.expect("session");
    store.create_session(&session("h2", "sid-2", Some(alice))).await.expect("session");
    add_grant(&*store, "a1", "rp-a", alice, "sid-1", true).await;
    add_grant(&*store, "a2", "rp-a", alice, "sid-1", true).await; // same client: one notification
    add_grant(&*store, "b1", "rp-b", alice, "sid-1", true).await; // no back-channel URI: none
    add_grant(&*store, "c1", "rp-c", alice, "sid-1", false).await; // offline: survives, still notified
    add_grant(&*store, "other", "rp-a", alice, "sid-2", true).await; // another session: untouched

    let t1 = T0 + Duration::hours(1);
    assert_eq!(store.end_session("h1", t1, &Effects::default()).await.expect("end"), Some(2));
    assert_eq!(store.find_session("h1").await.expect("find"), None);
    for id in ["a1", "a2", "b1"] {
        assert_eq!(store.find_grant(id).await.expect("find").expect("grant").revoked_at, Some(t1), "{id}");
    }
    assert!(store.find_grant("c1").await.expect("find").expect("grant").is_live(t1), "offline grant");
    assert!(store.find_grant("other").await.expect("find").expect("grant").is_live(t1));
    assert!(store.find_session("h2").await.expect("find").is_some());

    let queued = claim_all(&*store, t1).await;
    let clients: Vec<_> = queued.iter().map(|n| n.client_id.as_str()).collect();
    assert_eq!(clients, ["rp-a", "rp-c"]);
    let first = &queued[0];
    assert_eq!(first.uri, "https://rp-a.example/bcl");
    assert_eq!((first.user_id, first.sid.as_str()), (alice, "sid-1"));
    assert_eq!((first.attempts, first.created_at, first.next_attempt_at), (1, t1, t1));
    assert_ne!(queued[0].id, queued[1].id);

    assert_eq!(store.end_session("h1", t1, &Effects::default()).await.expect("again"), None, "already ended");
    assert_eq!(store.end_session("unknown", t1, &Effects::default()).await.expect("unknown"), None);

    // A pre-login session just goes.
    store.create_session(&session("anon", "sid-anon", None)).await.expect("session");
    assert_eq!(store.end_session("anon", t1, &Effects::default()).await.expect("end"), Some(0));
    assert_eq!(store.find_session("anon").await.expect("find"), None);
    assert_eq!(db.count("SELECT 1 FROM backchannel_logouts").await, 2);
}

async fn ending_a_users_sessions_ends_each_of_them(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    client(&*store, "rp", true).await;
    for (h, sid, who) in [("h1", "sid-1", alice), ("h2", "sid-2", alice), ("h3", "sid-3", bob)] {
        store.create_session(&session(h, sid, Some(who))).await.expect("session");
        add_grant(&*store, &format!("g-{sid}"), "rp", who, sid, true).await;
    }
    let t1 = T0 + Duration::hours(1);
    assert_eq!(store.end_user_sessions(alice, t1, &Effects::default()).await.expect("end all"), 2);
    assert_eq!(store.find_session("h1").await.expect("find"), None);
    assert_eq!(store.find_session("h2").await.expect("find"), None);
    assert!(store.find_session("h3").await.expect("find").is_some(), "other users keep theirs");
    assert!(!store.find_grant("g-sid-1").await.expect("find").expect("grant").is_live(t1));
    assert!(!store.find_grant("g-sid-2").await.expect("find").expect("grant").is_live(t1));
    assert!(store.find_grant("g-sid-3").await.expect("find").expect("grant").is_live(t1));

    let queued = claim_all(&*store, t1).await;
    let sids: HashSet<_> = queued.iter().map(|n| n.sid.as_str()).collect();
    assert_eq!(sids, HashSet::from(["sid-1", "sid-2"]), "one per session and client");
    assert!(queued.iter().all(|n| n.user_id == alice));
    assert_eq!(store.end_user_sessions(alice, t1, &Effects::default()).await.expect("again"), 0);
    assert_eq!(db.count("SELECT 1 FROM backchannel_logouts").await, 2);
}

async fn backchannel_logouts_are_leased_retried_and_completed(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", true).await;
    store.create_session(&session("h1", "sid-1", Some(alice))).await.expect("session");
    add_grant(&*store, "g1", "rp", alice, "sid-1", true).await;
    assert_eq!(store.end_session("h1", T0, &Effects::default()).await.expect("end"), Some(1));

    let lease = T0 + Duration::minutes(5);
    assert!(
        store.claim_due_backchannel_logout(T0 - Duration::seconds(1), lease).await.expect("claim").is_none(),
        "not due before the logout"
    );
    let first = store.claim_due_backchannel_logout(T0, lease).await.expect("claim").expect("due");
    assert_eq!(first.attempts, 1);
    assert!(store.claim_due_backchannel_logout(T0, lease).await.expect("claim").is_none(), "leased");

    // The lease runs out (the worker died): claimed again.
    let again = store.claim_due_backchannel_logout(lease, lease + Duration::minutes(5)).await.expect("claim");
    let again = again.expect("lease expired");
    assert_eq!((again.id.as_str(), again.attempts), (first.id.as_str(), 2));

    // A failed delivery is due again later, not before.
    let due = lease + Duration::seconds(30);
    store.retry_backchannel_logout(&again.id, due, "503 from the RP").await.expect("retry");
    assert_eq!(db.count("SELECT 1 FROM backchannel_logouts WHERE last_error = '503 from the RP'").await, 1);
    let early = due - Duration::seconds(1);
    assert!(store.claim_due_backchannel_logout(early, due).await.expect("claim").is_none(), "not due yet");
    let third = store.claim_due_backchannel_logout(due, due + Duration::minutes(5)).await.expect("claim");
    let third = third.expect("due again");
    assert_eq!((third.attempts, third.next_attempt_at), (3, due));

    store.complete_backchannel_logout(&third.id).await.expect("complete");
    assert_eq!(db.count("SELECT 1 FROM backchannel_logouts").await, 0);
    let later = due + Duration::days(1);
    assert!(store.claim_due_backchannel_logout(later, later).await.expect("claim").is_none());
}

async fn two_claimers_never_lease_the_same_logout(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    store.create_session(&session("h1", "sid-1", Some(alice))).await.expect("session");
    for rp in ["rp-1", "rp-2", "rp-3"] {
        client(&*store, rp, true).await;
        add_grant(&*store, &format!("g-{rp}"), rp, alice, "sid-1", true).await;
    }
    assert_eq!(store.end_session("h1", T0, &Effects::default()).await.expect("end"), Some(3));

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store.claim_due_backchannel_logout(T0, T0 + Duration::minutes(5)).await.expect("claim")
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        if let Some(n) = task.await.expect("task") {
            ids.push(n.id);
        }
    }
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!((ids.len(), distinct.len()), (3, 3), "{ids:?}");
}

async fn sessions_are_found_by_sid_and_replaced_atomically(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let anonymous = session("h1", "sid-1", None);
    store.create_session(&anonymous).await.expect("create");
    assert_eq!(store.find_session_by_sid("sid-1").await.expect("find"), Some(anonymous.clone()));
    assert_eq!(store.find_session_by_sid("nope").await.expect("find"), None);
    let err = store.create_session(&session("h9", "sid-1", None)).await.expect_err("sid is unique");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // Sign-in: a new cookie value, the same public id.
    let signed_in = session("h2", "sid-1", Some(alice));
    store.replace_session("h1", &signed_in).await.expect("replace");
    assert_eq!(store.find_session("h1").await.expect("find"), None);
    assert_eq!(store.find_session("h2").await.expect("find"), Some(signed_in.clone()));
    assert_eq!(store.find_session_by_sid("sid-1").await.expect("find"), Some(signed_in.clone()));

    // The old one already gone (ended meanwhile): the new one is still stored.
    let fresh = session("h3", "sid-3", Some(alice));
    store.replace_session("gone", &fresh).await.expect("replace");
    assert_eq!(store.find_session("h3").await.expect("find"), Some(fresh));

    // A failing insert keeps the old session: one transaction.
    let clash = session("h4", "sid-3", Some(alice));
    let err = store.replace_session("h2", &clash).await.expect_err("sid taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_session("h2").await.expect("find"), Some(signed_in));
    assert_eq!(store.find_session("h4").await.expect("find"), None);
}

both_backends!(
    ending_a_session_revokes_its_grants_and_queues_one_logout_per_client,
    ending_a_users_sessions_ends_each_of_them,
    backchannel_logouts_are_leased_retried_and_completed,
    two_claimers_never_lease_the_same_logout,
    sessions_are_found_by_sid_and_replaced_atomically,
);
