//! The run-time changes of a client in the store (the console's and the
//! command line's): each commits with its audit event or not at all, never
//! touches a client declared in configuration, and moves the client
//! generation so that caches drop the client at once.

use portcullis_store::{AuditOutcome, ClientRecord, Effects, NewAuditEvent, Store, StoreError};
use portcullis_tests::{Backend, both_backends, test_store};
use serde_json::json;
use time::Duration;

use super::repos::record;
use crate::admin::audit_kinds;
use crate::grants::{T0, code, grant, refresh, user};

fn event(kind: &str) -> NewAuditEvent {
    NewAuditEvent {
        at: T0,
        kind: kind.into(),
        outcome: AuditOutcome::Success,
        user_id: None,
        ip: Some("192.0.2.9".into()),
        user_agent: Some("admin console".into()),
        detail: json!({ "client_id": "rp" }),
    }
}

async fn stored(store: &dyn Store, client_id: &str) -> ClientRecord {
    store.find_client(client_id).await.expect("find").expect("client")
}

/// A client declared in configuration, as the start-up sync stores it.
async fn declared(store: &dyn Store) -> ClientRecord {
    let configured = ClientRecord { from_config: true, ..record("config-rp") };
    store.upsert_client(&configured).await.expect("sync");
    stored(store, "config-rp").await
}

async fn registering_commits_the_client_with_its_event_or_neither(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let g0 = store.clients_generation();
    let rp = ClientRecord { created_at: T0, updated_at: T0, ..record("rp") };
    store.register_client(&rp, &Effects::audit(&[event("client.registered")])).await.expect("register");
    assert_eq!(stored(&*store, "rp").await, rp);
    assert!(store.clients_generation() > g0);
    assert_eq!(audit_kinds(&*store).await, ["client.registered"]);

    let err = store.register_client(&rp, &Effects::audit(&[event("client.registered")])).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(audit_kinds(&*store).await, ["client.registered"], "a refused registration leaves no event");
}

async fn a_rotation_keeps_the_replaced_secret_only_with_an_overlap(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    store.create_client(&record("rp")).await.expect("create");
    let first = stored(&*store, "rp").await.client_secret_sha256.expect("a secret");
    let audit = [event("client.secret_rotated")];
    let (second, third) = ("cd".repeat(32), "ef".repeat(32));

    let g0 = store.clients_generation();
    let until = T0 + Duration::minutes(10);
    store
        .rotate_client_secret("rp", &second, Some(until), T0, &Effects::audit(&audit))
        .await
        .expect("rotate");
    let rp = stored(&*store, "rp").await;
    assert_eq!(rp.client_secret_sha256.as_deref(), Some(second.as_str()));
    assert_eq!(rp.previous_secret_sha256, Some(first));
    assert_eq!(rp.previous_secret_expires_at, Some(until));
    assert_eq!(rp.updated_at, T0);
    assert!(store.clients_generation() > g0);

    // Without an overlap the replaced secret goes, and so does the earlier one.
    store.rotate_client_secret("rp", &third, None, T0, &Effects::audit(&audit)).await.expect("rotate");
    let rp = stored(&*store, "rp").await;
    assert_eq!(rp.client_secret_sha256.as_deref(), Some(third.as_str()));
    assert_eq!((rp.previous_secret_sha256, rp.previous_secret_expires_at), (None, None));
    assert_eq!(audit_kinds(&*store).await, ["client.secret_rotated", "client.secret_rotated"]);

    // Nothing to rotate: an unknown client, a public one, a declared one.
    let public = ClientRecord {
        client_secret_sha256: None,
        token_endpoint_auth_method: "none".into(),
        ..record("native")
    };
    store.create_client(&public).await.expect("create");
    let config = declared(&*store).await;
    for id in ["nobody", "native", "config-rp"] {
        let err = store.rotate_client_secret(id, &second, None, T0, &Effects::audit(&audit)).await;
        assert!(matches!(err, Err(StoreError::NotFound)), "{id}: {err:?}");
    }
    assert_eq!(stored(&*store, "config-rp").await, config, "the configuration's client is untouched");
    assert_eq!(stored(&*store, "native").await.client_secret_sha256, None);
    assert_eq!(audit_kinds(&*store).await.len(), 2, "a refused change leaves no event");
}

async fn only_run_time_clients_are_disabled_and_enabled(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    store.create_client(&record("rp")).await.expect("create");
    let g0 = store.clients_generation();
    let later = T0 + Duration::hours(1);
    store
        .set_client_disabled("rp", true, later, &Effects::audit(&[event("client.disabled")]))
        .await
        .expect("off");
    let rp = stored(&*store, "rp").await;
    assert!(rp.disabled);
    assert_eq!(rp.updated_at, later);
    assert!(store.clients_generation() > g0);
    store
        .set_client_disabled("rp", false, later, &Effects::audit(&[event("client.enabled")]))
        .await
        .expect("on");
    assert!(!stored(&*store, "rp").await.disabled);

    let config = declared(&*store).await;
    let err = store.set_client_disabled("config-rp", true, later, &Effects::default()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    assert_eq!(stored(&*store, "config-rp").await, config);
    let err = store.set_client_disabled("nobody", true, later, &Effects::default()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    assert_eq!(audit_kinds(&*store).await, ["client.disabled", "client.enabled"]);
}

async fn unregistering_deletes_the_client_with_its_grants_and_tokens(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    for id in ["rp", "other"] {
        store.create_client(&record(id)).await.expect("create");
    }
    // A live grant with a refresh token, a revoked one, and another client's.
    let live = grant("g-live", "rp", alice, None, false);
    store.create_grant_with_code(&live, &code("code-1", &live)).await.expect("grant");
    store.redeem_code("code-1", Some(&refresh("rt-1", &live, T0)), T0).await.expect("redeem");
    let revoked = grant("g-revoked", "rp", alice, None, false);
    store.create_grant_with_code(&revoked, &code("code-2", &revoked)).await.expect("grant");
    store.revoke_grant("g-revoked", T0).await.expect("revoke");
    let kept = grant("g-other", "other", alice, None, false);
    store.create_grant_with_code(&kept, &code("code-3", &kept)).await.expect("grant");
    store.save_consent(alice, "rp", &["openid".into()], T0).await.expect("consent");
    assert!(store.find_refresh_token("rt-1").await.expect("find").is_some(), "a live refresh token");

    let clients = store.clients_generation();
    let tokens = store.token_state_generation().await.expect("generation").expect("kept");
    let audit = [event("client.deleted")];
    let revoked_count = store.unregister_client("rp", T0, &Effects::audit(&audit)).await.expect("delete");
    assert_eq!(revoked_count, 1, "the live grants");
    assert_eq!(store.find_client("rp").await.expect("find"), None);
    assert_eq!(store.find_grant("g-live").await.expect("find"), None);
    assert_eq!(store.find_grant("g-revoked").await.expect("find"), None);
    assert!(store.find_refresh_token("rt-1").await.expect("find").is_none(), "the refresh token is gone");
    assert_eq!(store.find_consent(alice, "rp").await.expect("find"), None);
    assert!(store.find_grant("g-other").await.expect("find").is_some(), "another client's grant stays");
    assert_eq!(db.count("SELECT 1 FROM auth_codes WHERE client_id = 'rp'").await, 0);
    assert!(store.clients_generation() > clients);
    let after = store.token_state_generation().await.expect("generation").expect("kept");
    assert!(after > tokens, "cached token states are dropped");
    let events = store.recent_audit(10).await.expect("audit");
    assert_eq!(events[0].event.kind, "client.deleted");
    assert_eq!(events[0].event.detail["grants_revoked"], 1, "{:?}", events[0].event.detail);

    let config = declared(&*store).await;
    let err = store.unregister_client("config-rp", T0, &Effects::default()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    assert_eq!(stored(&*store, "config-rp").await, config);
    let err = store.unregister_client("rp", T0, &Effects::audit(&audit)).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "already gone: {err:?}");
    assert_eq!(audit_kinds(&*store).await, ["client.deleted"]);
}

both_backends!(
    registering_commits_the_client_with_its_event_or_neither,
    a_rotation_keeps_the_replaced_secret_only_with_an_overlap,
    only_run_time_clients_are_disabled_and_enabled,
    unregistering_deletes_the_client_with_its_grants_and_tokens,
);
