//! The client repository behaves the same on both backends.

use portcullis_store::{ClientRecord, StoreError};
use portcullis_tests::{Backend, both_backends, test_store};
use time::macros::datetime;

pub(crate) fn record(client_id: &str) -> ClientRecord {
    ClientRecord {
        client_id: client_id.into(),
        name: "Example RP".into(),
        client_secret_sha256: Some("ab".repeat(32)),
        redirect_uris: vec!["https://rp.example/cb".into(), "https://rp.example/a-cb".into()],
        post_logout_redirect_uris: vec!["https://rp.example/bye".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        scopes: vec!["openid".into(), "email".into()],
        require_consent: true,
        backchannel_logout_uri: Some("https://rp.example/bcl".into()),
        jwks: Some(r#"{"keys":[]}"#.into()),
        id_token_signed_response_alg: "RS256".into(),
        access_token_ttl_secs: 300,
        from_config: false,
        previous_secret_sha256: None,
        previous_secret_expires_at: None,
        disabled: false,
        admin_api: false,
        allowed_origins: vec!["https://app.rp.example".into(), "http://localhost:5173".into()],
        dpop_bound_access_tokens: false,
        require_pushed_authorization_requests: false,
        resources: vec![],
        created_at: datetime!(2026-03-01 10:00:00.5 UTC),
        updated_at: datetime!(2026-03-01 10:00:00.5 UTC),
    }
}

async fn clients_round_trip_and_ids_are_unique(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    assert_eq!(store.find_client("rp").await.expect("find"), None);

    store.create_client(&record("rp")).await.expect("create");
    let found = store.find_client("rp").await.expect("find").expect("client");
    let expected = ClientRecord {
        created_at: datetime!(2026-03-01 10:00 UTC),
        updated_at: datetime!(2026-03-01 10:00 UTC),
        ..record("rp")
    };
    assert_eq!(found, expected, "lists keep their order, instants are kept to the second");

    let err = store.create_client(&record("rp")).await.expect_err("duplicate id");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn public_clients_store_no_secret_and_empty_lists(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let public = ClientRecord {
        client_secret_sha256: None,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        jwks: None,
        token_endpoint_auth_method: "none".into(),
        ..record("native")
    };
    store.create_client(&public).await.expect("create");
    let found = store.find_client("native").await.expect("find").expect("client");
    assert_eq!(found.client_secret_sha256, None);
    assert!(found.post_logout_redirect_uris.is_empty());
    assert_eq!(found.backchannel_logout_uri, None);
    assert_eq!(found.jwks, None);
}

async fn upsert_replaces_fields_but_keeps_created_at(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    store.upsert_client(&record("rp")).await.expect("insert");
    let changed = ClientRecord {
        name: "Renamed".into(),
        redirect_uris: vec!["https://rp.example/new".into()],
        scopes: vec!["openid".into()],
        jwks: None,
        from_config: true,
        allowed_origins: vec!["https://new.rp.example".into()],
        dpop_bound_access_tokens: true,
        require_pushed_authorization_requests: false,
        resources: vec![],
        created_at: datetime!(2026-04-01 00:00 UTC),
        updated_at: datetime!(2026-04-01 00:00 UTC),
        ..record("rp")
    };
    store.upsert_client(&changed).await.expect("update");
    let found = store.find_client("rp").await.expect("find").expect("client");
    assert_eq!(found.name, "Renamed");
    assert_eq!(found.redirect_uris, ["https://rp.example/new"]);
    assert_eq!(found.scopes, ["openid"]);
    assert_eq!(found.jwks, None, "jwks replaced too");
    assert_eq!(found.allowed_origins, ["https://new.rp.example"], "and the origins");
    assert!(found.dpop_bound_access_tokens, "and the DPoP requirement");
    assert!(found.from_config);
    assert_eq!(found.created_at, datetime!(2026-03-01 10:00 UTC));
    assert_eq!(found.updated_at, datetime!(2026-04-01 00:00 UTC));
    assert_eq!(store.list_clients().await.expect("list").len(), 1);
}

async fn clients_are_listed_by_id_and_deleted(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    for id in ["zeta", "Alpha", "beta"] {
        store.create_client(&record(id)).await.expect("create");
    }
    let ids: Vec<_> = store.list_clients().await.expect("list").into_iter().map(|c| c.client_id).collect();
    assert_eq!(ids, ["Alpha", "beta", "zeta"], "byte order on both backends");

    store.delete_client("beta").await.expect("delete");
    assert_eq!(store.find_client("beta").await.expect("find"), None);
    let err = store.delete_client("beta").await.expect_err("already gone");
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.list_clients().await.expect("list").len(), 2);
}

async fn client_writes_advance_the_generation(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let g0 = store.clients_generation();
    store.create_client(&record("rp")).await.expect("create");
    let g1 = store.clients_generation();
    assert!(g1 > g0, "create");
    store.upsert_client(&record("rp")).await.expect("upsert");
    let g2 = store.clients_generation();
    assert!(g2 > g1, "upsert");
    store.find_client("rp").await.expect("find");
    assert_eq!(store.clients_generation(), g2, "reads leave it");
    store.delete_client("rp").await.expect("delete");
    assert!(store.clients_generation() > g2, "delete");
}

both_backends!(
    clients_round_trip_and_ids_are_unique,
    public_clients_store_no_secret_and_empty_lists,
    upsert_replaces_fields_but_keeps_created_at,
    clients_are_listed_by_id_and_deleted,
    client_writes_advance_the_generation,
);
