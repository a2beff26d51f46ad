//! `[[clients]]` in the configuration are synced into the store at start.

use portcullis_core::Clock;
use portcullis_server::settings::{ClientSettings, SecretKey};
use portcullis_tests::{Backend, TestDatabase, both_backends, spawn_app_with};
use std::sync::Arc;

fn declared(name: &str) -> ClientSettings {
    ClientSettings {
        client_id: "config-rp".into(),
        name: Some(name.into()),
        client_secret: Some(SecretKey::new("config-secret-0123456789abcdef0123456789".into())),
        client_secret_sha256: None,
        redirect_uris: vec!["https://rp.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        token_endpoint_auth_method: "client_secret_post".into(),
        scopes: vec!["openid".into(), "email".into()],
        require_consent: false,
        backchannel_logout_uri: None,
        id_token_signed_response_alg: "ES256".into(),
        access_token_ttl: 120,
        jwks: None,
        admin_api: false,
        allowed_origins: vec!["https://app.rp.example".into()],
        dpop_bound_access_tokens: true,
        require_pushed_authorization_requests: false,
        resources: vec![],
    }
}

async fn configured_clients_are_upserted_at_start(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db.clone(), |s| s.clients.push(declared("First"))).await;
    let stored = app.store.find_client("config-rp").await.expect("find").expect("synced");
    assert!(stored.from_config);
    assert_eq!(stored.name, "First");
    assert_eq!(stored.token_endpoint_auth_method, "client_secret_post");
    assert_eq!(stored.access_token_ttl_secs, 120);
    assert_eq!(stored.id_token_signed_response_alg, "ES256");
    assert_eq!(stored.allowed_origins, ["https://app.rp.example"]);
    assert!(stored.dpop_bound_access_tokens);
    let client = portcullis_protocol::Client::from_record(&stored).expect("valid client");
    assert!(
        client.verify_secret("config-secret-0123456789abcdef0123456789", app.clock.now()),
        "stored as SHA-256 of the configured secret"
    );
    assert_ne!(stored.client_secret_sha256.as_deref(), Some("config-secret-0123456789abcdef0123456789"));
    drop(app);

    let app = spawn_app_with(db, |s| s.clients.push(declared("Renamed"))).await;
    let clients = app.store.list_clients().await.expect("list");
    assert_eq!(clients.len(), 1, "a restart updates, never duplicates");
    assert_eq!(clients[0].name, "Renamed");
}

both_backends!(configured_clients_are_upserted_at_start);
