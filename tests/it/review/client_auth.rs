//! Finding 15 (second half): failed client authentication backs off per
//! client, the attempt reserved before the secret is compared.

use futures_util::future::join_all;
use portcullis_protocol::GrantType;
use portcullis_tests::oidc::{ClientSpec, create_client, spawn_oidc_app_with, token_request};
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::Value;
use std::sync::Arc;
use time::Duration;

async fn setup(backend: Backend) -> TestApp {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| s.auth.max_failures_per_client = 5).await;
    let mut spec = ClientSpec::confidential("svc", "http://127.0.0.1:9/cb");
    spec.grants = vec![GrantType::ClientCredentials];
    spec.scopes = "api".into();
    create_client(&app, spec).await;
    app
}

async fn with_secret(app: &TestApp, secret: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/token", app.address))
        .basic_auth("svc", Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .expect("token request")
}

async fn failed_client_authentications_back_off(backend: Backend) {
    let app = setup(backend).await;
    for _ in 0..5 {
        assert_eq!(with_secret(&app, "a wrong secret").await.status(), 401);
    }
    let res = token_request(&app, "svc", &[("grant_type", "client_credentials"), ("scope", "api")]).await;
    assert_eq!(res.status(), 429, "the right secret waits too");
    let wait: i64 = res.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(wait >= 1);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    app.clock.advance(Duration::seconds(wait));
    let res = token_request(&app, "svc", &[("grant_type", "client_credentials"), ("scope", "api")]).await;
    assert_eq!(res.status(), 200, "after the back-off");
}

async fn parallel_wrong_secrets_cannot_slip_past(backend: Backend) {
    let app = setup(backend).await;
    let answers = join_all((0..40).map(|_| with_secret(&app, "a wrong secret"))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 35, "{statuses:?}");
}

both_backends!(failed_client_authentications_back_off, parallel_wrong_secrets_cannot_slip_past);
