//! The token endpoint keeps recently used clients in memory: a change made
//! through the instance's own store applies at once, a change made elsewhere
//! (another instance, the CLI) within the cache's TTL (5 s).

use portcullis_protocol::{ClientSecretHash, GrantType};
use portcullis_tests::oidc::{ClientSpec, create_client, spawn_oidc_app};
use portcullis_tests::{Backend, TestApp, both_backends};
use time::Duration;

async fn client_credentials(app: &TestApp, secret: &str) -> u16 {
    app.client
        .post(format!("{}/token", app.address))
        .basic_auth("machine", Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .expect("token")
        .status()
        .as_u16()
}

async fn machine(app: &TestApp) -> String {
    let mut spec = ClientSpec::confidential("machine", "https://rp.example/cb");
    spec.grants = vec![GrantType::ClientCredentials];
    spec.redirect_uris = vec![];
    spec.scopes = "api".into();
    create_client(app, spec).await.expect("secret")
}

async fn changes_through_the_store_apply_at_once(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let secret = machine(&app).await;
    assert_eq!(client_credentials(&app, &secret).await, 200, "now cached");

    // A new secret: the old one is refused on the next request.
    let mut record = app.store.find_client("machine").await.expect("find").expect("client");
    record.client_secret_sha256 = Some(ClientSecretHash::of("a-new-secret-0123456789abcdef0123").to_hex());
    app.store.upsert_client(&record).await.expect("upsert");
    assert_eq!(client_credentials(&app, &secret).await, 401);
    assert_eq!(client_credentials(&app, "a-new-secret-0123456789abcdef0123").await, 200);

    app.store.delete_client("machine").await.expect("delete");
    assert_eq!(client_credentials(&app, "a-new-secret-0123456789abcdef0123").await, 401);
}

async fn changes_made_elsewhere_apply_within_the_ttl(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let secret = machine(&app).await;
    assert_eq!(client_credentials(&app, &secret).await, 200, "now cached");

    // Another process (another store on the same database) deletes the client.
    let elsewhere = app.db.open().await;
    elsewhere.delete_client("machine").await.expect("delete");
    app.clock.advance(Duration::seconds(4));
    assert_eq!(client_credentials(&app, &secret).await, 200, "still cached");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(client_credentials(&app, &secret).await, 401, "the TTL is over");
}

both_backends!(changes_through_the_store_apply_at_once, changes_made_elsewhere_apply_within_the_ttl);
