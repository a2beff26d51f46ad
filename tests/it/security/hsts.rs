//! `Strict-Transport-Security` on every response when the issuer is https,
//! never when it is http (issue 14, finding T3). The tests' server listens
//! on plain http either way: the header follows the issuer, which is what
//! browsers reach through the TLS-terminating proxy.

use portcullis_core::Issuer;
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends, spawn_app, spawn_app_with};
use std::sync::Arc;

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// A page, the JWKS, a 404, a refused setup link and a protocol error.
async fn responses(app: &TestApp) -> Vec<(String, reqwest::Response)> {
    let mut all = Vec::new();
    for path in ["/login", "/jwks", "/no-such-page", "/setup?token=wrong"] {
        all.push((format!("GET {path}"), app.get(path).await));
    }
    let token_error = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("post /token");
    all.push(("POST /token without a client".into(), token_error));
    all
}

async fn sent_for_https_issuer(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |s| {
        s.issuer = Issuer::parse("https://id.example.test").expect("issuer");
    })
    .await;
    let answers = responses(&app).await;
    let statuses: Vec<u16> = answers.iter().map(|(_, res)| res.status().as_u16()).collect();
    assert_eq!(statuses, [200, 200, 404, 403, 401], "one of each kind");
    for (what, res) in answers {
        let hsts = res.headers().get("strict-transport-security").map(|v| v.to_str().expect("ascii"));
        assert_eq!(hsts, Some(HSTS), "{what}");
    }
}

async fn not_sent_for_http_issuer(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.settings.issuer.as_str().starts_with("http://"));
    for (what, res) in responses(&app).await {
        assert!(res.headers().get("strict-transport-security").is_none(), "{what}");
    }
}

both_backends!(sent_for_https_issuer, not_sent_for_http_issuer);
