//! Refresh reuse grace (`tokens.refresh_reuse_grace_secs`): two tabs of one
//! app refreshing with the same token both get the same successor within
//! the grace; a reuse after it still revokes the family (RFC 9700 §4.14.2).

use portcullis_tests::oidc::{
    Browser, ClientSpec, create_client, create_user, spawn_oidc_app_with, token_request,
};
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::Value;
use std::sync::Arc;
use time::Duration;

use super::negative::{code_for, redeem, userinfo};

const CB: &str = "http://127.0.0.1:9/cb";

/// An app with a 10 s grace, user alice, confidential clients `rp` and `other`.
async fn setup(backend: Backend, grace_secs: u32) -> TestApp {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, move |s| s.tokens.refresh_reuse_grace_secs = grace_secs).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    create_client(&app, ClientSpec::confidential("other", CB)).await;
    app
}

async fn refresh(app: &TestApp, client_id: &str, token: &str) -> (u16, Value) {
    let res =
        token_request(app, client_id, &[("grant_type", "refresh_token"), ("refresh_token", token)]).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn field(body: &Value, name: &str) -> String {
    body[name].as_str().unwrap_or_else(|| panic!("no {name}: {body}")).to_owned()
}

/// (the first refresh token, the app) after a code flow.
async fn signed_in(backend: Backend, grace_secs: u32) -> (TestApp, String) {
    let app = setup(backend, grace_secs).await;
    let (code, verifier) = code_for(&app, &Browser::new(&app), &[]).await;
    let (status, tokens, _) = redeem(&app, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let first = field(&tokens, "refresh_token");
    (app, first)
}

async fn a_reuse_at_the_end_of_the_grace_gets_the_same_successor_and_one_second_later_revokes(
    backend: Backend,
) {
    let (app, first) = signed_in(backend, 10).await;
    let (status, rotated) = refresh(&app, "rp", &first).await;
    assert_eq!(status, 200, "{rotated}");
    let second = field(&rotated, "refresh_token");
    assert_ne!(second, first);

    // The second tab, 10 s later (the last second of the grace).
    app.clock.advance(Duration::seconds(10));
    let (status, again) = refresh(&app, "rp", &first).await;
    assert_eq!(status, 200, "inside the grace: {again}");
    assert_eq!(field(&again, "refresh_token"), second, "the same successor");
    assert_ne!(field(&again, "access_token"), field(&rotated, "access_token"), "a fresh access token");
    assert_eq!(userinfo(&app, &field(&again, "access_token")).await.status(), 200);
    assert!(again["id_token"].is_string(), "{again}");

    // Another client presenting it inside the grace gets nothing.
    let (status, body) = refresh(&app, "other", &first).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body.get("refresh_token").is_none());

    // The family lives on: the successor rotates as usual.
    let (status, third) = refresh(&app, "rp", &second).await;
    assert_eq!(status, 200, "{third}");
    let third_token = field(&third, "refresh_token");

    // 11 s after its rotation, a reuse of the second token is a theft.
    app.clock.advance(Duration::seconds(11));
    let (status, body) = refresh(&app, "rp", &second).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "outside the grace: {body}");
    let (status, body) = refresh(&app, "rp", &third_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the family is revoked: {body}"
    );
    assert_eq!(userinfo(&app, &field(&third, "access_token")).await.status(), 401);
}

async fn two_tabs_refreshing_at_once_get_the_same_successor(backend: Backend) {
    let (app, first) = signed_in(backend, 10).await;
    let (a, b) = tokio::join!(refresh(&app, "rp", &first), refresh(&app, "rp", &first));
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    let successor = field(&a.1, "refresh_token");
    assert_eq!(field(&b.1, "refresh_token"), successor);
    let (status, next) = refresh(&app, "rp", &successor).await;
    assert_eq!(status, 200, "the family lives: {next}");
    let stored = app.db.count("SELECT 1 FROM refresh_tokens").await;
    assert_eq!(stored, 3, "the first, one successor, its successor");
}

async fn without_a_grace_a_reuse_in_the_same_second_revokes_the_family(backend: Backend) {
    let (app, first) = signed_in(backend, 0).await;
    let (status, rotated) = refresh(&app, "rp", &first).await;
    assert_eq!(status, 200, "{rotated}");
    let (status, body) = refresh(&app, "rp", &first).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = refresh(&app, "rp", &field(&rotated, "refresh_token")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "revoked: {body}");
    let sealed = app.db.count("SELECT 1 FROM refresh_tokens WHERE sealed IS NOT NULL").await;
    assert_eq!(sealed, 0, "nothing kept when the grace is off");
}

both_backends!(
    a_reuse_at_the_end_of_the_grace_gets_the_same_successor_and_one_second_later_revokes,
    two_tabs_refreshing_at_once_get_the_same_successor,
    without_a_grace_a_reuse_in_the_same_second_revokes_the_family,
);
