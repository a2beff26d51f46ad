//! Device authorizations (RFC 8628) in the store, on both backends: found
//! by either code, user codes unique, polls recorded by compare and swap,
//! approval (grant, consent, audit) in one transaction and only while
//! pending, and single-use redemption under concurrency.

use portcullis_store::{
    AuditOutcome, DeviceAuthorizationRow, DeviceStatus, Effects, NewAuditEvent, Redemption, StoreError,
};
use portcullis_tests::{Backend, both_backends, test_store};
use time::Duration;

use super::{T0, client, grant, refresh, user};

fn device(device_code_hash: &str, user_code_hash: &str) -> DeviceAuthorizationRow {
    DeviceAuthorizationRow {
        device_code_hash: device_code_hash.into(),
        user_code_hash: user_code_hash.into(),
        client_id: "tv".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        status: DeviceStatus::Pending,
        grant_id: None,
        interval_secs: 5,
        last_polled_at: None,
        created_at: T0,
        expires_at: T0 + Duration::minutes(10),
        decided_at: None,
        redeemed_at: None,
    }
}

fn audit(kind: &str) -> NewAuditEvent {
    NewAuditEvent {
        at: T0,
        kind: kind.into(),
        outcome: AuditOutcome::Success,
        user_id: None,
        ip: None,
        user_agent: None,
        detail: serde_json::json!({}),
    }
}

async fn device_authorizations_round_trip_with_unique_user_codes(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    client(&*store, "tv", false).await;
    let d = device("dc-1", "uc-1");
    store.create_device_authorization(&d).await.expect("create");
    let err = store.create_device_authorization(&device("dc-2", "uc-1")).await.expect_err("user code taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    assert_eq!(store.find_device_by_user_code("uc-1").await.expect("find"), Some(d.clone()));
    assert_eq!(store.find_device_by_user_code("uc-2").await.expect("find"), None);
    assert_eq!(store.find_device_code("dc-1").await.expect("find"), Some((d, None)));
    assert_eq!(store.find_device_code("dc-2").await.expect("find"), None);
}

async fn polls_are_recorded_by_compare_and_swap(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    client(&*store, "tv", false).await;
    store.create_device_authorization(&device("dc-1", "uc-1")).await.expect("create");

    assert!(store.record_device_poll("dc-1", (None, 5), (T0, 5)).await.expect("first poll"));
    // A second poll that read the row before the first wrote it loses.
    assert!(!store.record_device_poll("dc-1", (None, 5), (T0, 5)).await.expect("stale"));
    let t1 = T0 + Duration::seconds(2);
    assert!(store.record_device_poll("dc-1", (Some(T0), 5), (t1, 10)).await.expect("slow down"));
    let (row, _) = store.find_device_code("dc-1").await.expect("find").expect("row");
    assert_eq!((row.last_polled_at, row.interval_secs), (Some(t1), 10));
    assert!(!store.record_device_poll("dc-9", (None, 5), (T0, 5)).await.expect("no such row"));
}

async fn approval_is_one_transaction_and_only_while_pending(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "tv", false).await;
    store.create_device_authorization(&device("dc-1", "uc-1")).await.expect("create");
    store.create_device_authorization(&device("dc-2", "uc-2")).await.expect("create");

    let g = grant("g1", "tv", alice, Some("sid-1"), false);
    let consent = ["openid".to_owned(), "offline_access".to_owned()];
    let events = [audit("device.approved")];
    let t1 = T0 + Duration::seconds(30);
    assert!(store.approve_device("uc-1", &g, &consent, t1, &Effects::audit(&events)).await.expect("approve"));
    let (row, found) = store.find_device_code("dc-1").await.expect("find").expect("row");
    assert_eq!(
        (row.status, row.grant_id.as_deref(), row.decided_at),
        (DeviceStatus::Approved, Some("g1"), Some(t1))
    );
    assert_eq!(found, Some(g.clone()));
    assert_eq!(store.find_consent(alice, "tv").await.expect("consent"), Some(consent.to_vec()));
    assert_eq!(db.count("SELECT 1 FROM audit_events WHERE kind = 'device.approved'").await, 1);

    // Decided: neither a second approval nor a denial writes anything.
    let again = grant("g2", "tv", alice, Some("sid-1"), false);
    assert!(
        !store.approve_device("uc-1", &again, &consent, t1, &Effects::audit(&events)).await.expect("again")
    );
    assert_eq!(store.find_grant("g2").await.expect("find"), None, "rolled back");
    assert!(!store.deny_device("uc-1", t1, &Effects::audit(&[audit("device.denied")])).await.expect("deny"));
    assert_eq!(db.count("SELECT 1 FROM audit_events").await, 1);

    // Expired: nothing either.
    let late = T0 + Duration::minutes(10);
    assert!(
        !store.deny_device("uc-2", late, &Effects::audit(&[audit("device.denied")])).await.expect("late")
    );
    assert!(store.deny_device("uc-2", t1, &Effects::audit(&[audit("device.denied")])).await.expect("deny"));
    let (row, found) = store.find_device_code("dc-2").await.expect("find").expect("row");
    assert_eq!((row.status, found), (DeviceStatus::Denied, None));
}

async fn concurrent_redemptions_of_one_device_code_redeem_it_once(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "tv", false).await;
    store.create_device_authorization(&device("dc-1", "uc-1")).await.expect("create");
    let g = grant("g1", "tv", alice, None, false);
    // Pending: nothing to redeem, no grant to revoke.
    assert_eq!(store.redeem_device_code("dc-1", None, T0).await.expect("pending"), Redemption::Unknown);
    store.approve_device("uc-1", &g, &[], T0, &Effects::default()).await.expect("approve");

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let rt = refresh(&format!("rt-{i}"), &g, T0);
            tokio::spawn(async move { store.redeem_device_code("dc-1", Some(&rt), T0).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("redeem"));
    }
    let redeemed = outcomes.iter().filter(|o| **o == Redemption::Redeemed).count();
    let replayed = outcomes.iter().filter(|o| **o == Redemption::Replayed).count();
    assert_eq!((redeemed, replayed), (1, 7), "{outcomes:?}");
    assert_eq!(db.count("SELECT 1 FROM refresh_tokens").await, 1, "only the winner's token is stored");
    let revoked = store.find_grant("g1").await.expect("find").expect("grant");
    assert!(revoked.revoked_at.is_some(), "a replay revokes the grant");
}

async fn expired_device_authorizations_are_swept(backend: Backend) {
    let (store, db) = test_store(backend).await;
    client(&*store, "tv", false).await;
    store.create_device_authorization(&device("dc-1", "uc-1")).await.expect("create");
    let later = DeviceAuthorizationRow { expires_at: T0 + Duration::hours(1), ..device("dc-2", "uc-2") };
    store.create_device_authorization(&later).await.expect("create");
    store.delete_expired_grants(T0 + Duration::minutes(10)).await.expect("sweep");
    assert_eq!(db.count("SELECT 1 FROM device_authorizations").await, 1);
    assert!(store.find_device_code("dc-2").await.expect("find").is_some());
}

both_backends!(
    device_authorizations_round_trip_with_unique_user_codes,
    polls_are_recorded_by_compare_and_swap,
    approval_is_one_transaction_and_only_while_pending,
    concurrent_redemptions_of_one_device_code_redeem_it_once,
    expired_device_authorizations_are_swept,
);
