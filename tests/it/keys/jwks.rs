use portcullis_keys::Algorithm;
use portcullis_tests::{Backend, both_backends, spawn_app};
use serde_json::Value;

const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

async fn jwks_keys(app: &portcullis_tests::TestApp) -> Vec<Value> {
    let res = app.get("/jwks").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["keys"].as_array().expect("keys array").clone()
}

/// Acceptance 4 (first half): public members only; kid, kty, alg and use on each.
async fn jwks_publishes_rs256_and_es256_public_keys_only(backend: Backend) {
    let app = spawn_app(backend).await;

    let keys = jwks_keys(&app).await;

    let mut algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "RS256"]);
    for key in &keys {
        for member in ["kid", "kty", "alg", "use"] {
            assert!(key[member].is_string(), "{member} missing in {key}");
        }
        assert_eq!(key["use"], "sig");
        for member in PRIVATE_MEMBERS {
            assert!(key.get(member).is_none(), "private member {member} published: {key}");
        }
    }
    let set = app.keys.live().current();
    for alg in [Algorithm::Rs256, Algorithm::Es256] {
        let kid = set.active_kid(alg).expect("active key");
        assert!(keys.iter().any(|k| k["kid"] == kid), "{alg} {kid} not published");
    }
}

async fn jwks_is_cacheable_and_answers_304_to_its_etag(backend: Backend) {
    let app = spawn_app(backend).await;

    let first = app.get("/jwks").await;
    assert_eq!(first.headers()["cache-control"], "public, max-age=3600");
    let etag = first.headers()["etag"].to_str().expect("ascii").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "strong etag: {etag}");

    let again = app
        .client
        .get(format!("{}/jwks", app.address))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.expect("body").is_empty());

    let other = app
        .client
        .get(format!("{}/jwks", app.address))
        .header("if-none-match", "\"x\"")
        .send()
        .await
        .expect("get");
    assert_eq!(other.status(), 200);

    // A staged key changes the document, and so the ETag.
    let staged = portcullis_server::keys::rotate_keys(
        &app.settings,
        app.store.clone(),
        &app.clock,
        Some(Algorithm::Es256),
        false,
    )
    .await
    .expect("rotate");
    app.keys.refresh().await;
    let after = app
        .client
        .get(format!("{}/jwks", app.address))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(after.status(), 200);
    assert_ne!(after.headers()["etag"], etag.as_str());
    let body: Value = after.json().await.expect("json");
    assert!(body["keys"].as_array().expect("keys").iter().any(|k| k["kid"] == staged[0].as_str()));
}

async fn key_metrics_are_exported(backend: Backend) {
    let app = spawn_app(backend).await;

    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");

    assert!(text.contains("portcullis_signing_keys{alg=\"RS256\",state=\"active\"} 1"), "{text}");
    assert!(text.contains("portcullis_signing_keys{alg=\"ES256\",state=\"active\"} 1"), "{text}");
    assert!(text.contains("portcullis_signing_keys{alg=\"ES256\",state=\"staged\"} 0"), "{text}");
    // First start at the test clock's moment: the next rotation is 30 days away.
    assert!(text.contains("portcullis_signing_key_next_rotation_seconds 2592000"), "{text}");
}

both_backends!(
    jwks_publishes_rs256_and_es256_public_keys_only,
    jwks_is_cacheable_and_answers_304_to_its_etag,
    key_metrics_are_exported,
);
