//! Userinfo and introspection keep the state of recently checked access tokens
//! in memory (`TokenStateCache`). Every way of invalidating a token through
//! any instance or process applies at the next request all the same (the
//! database's token-state generation, migration 0021); only a change made
//! behind the triggers' back waits for the cache's TTL (1 s).

use portcullis_core::Clock;
use portcullis_store::Effects;
use portcullis_tests::oidc::Browser;
use portcullis_tests::{Backend, TestApp, both_backends};
use serde_json::Value;
use time::Duration;
use uuid::Uuid;

use super::negative::{code_for, redeem, setup, userinfo};

/// A new browser signs alice in; her access token is checked once (so its
/// state is cached) and returned.
async fn fresh_token(app: &TestApp) -> String {
    let browser = Browser::new(app);
    let (code, verifier) = code_for(app, &browser, &[]).await;
    let (status, tokens, _) = redeem(app, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access token").to_owned();
    assert_eq!(userinfo(app, &access).await.status(), 200);
    access
}

async fn alice(app: &TestApp) -> Uuid {
    app.store.find_user_by_login("alice").await.expect("find").expect("alice").id
}

async fn email(app: &TestApp, access: &str) -> String {
    let res = userinfo(app, access).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["email"].as_str().expect("email").to_owned()
}

async fn every_revocation_through_the_instance_applies_at_once(backend: Backend) {
    let app = setup(backend).await;
    let alice = alice(&app).await;

    // Her sessions end (logout everywhere, an operator's reset).
    let access = fresh_token(&app).await;
    assert_eq!(userinfo(&app, &access).await.status(), 200, "answered from the cache");
    app.store.end_user_sessions(alice, app.clock.now(), &Effects::default()).await.expect("end sessions");
    assert_eq!(userinfo(&app, &access).await.status(), 401, "session ended");

    // An administrator revokes her grants.
    let access = fresh_token(&app).await;
    app.store.revoke_user_grants(alice, app.clock.now()).await.expect("revoke");
    assert_eq!(userinfo(&app, &access).await.status(), 401, "grants revoked");

    // She is disabled (which ends her sessions), then enabled again: the
    // refusal was not cached, a new sign-in works, the old token stays dead.
    let old = fresh_token(&app).await;
    app.store.disable_user(alice, app.clock.now(), &Effects::default()).await.expect("disable");
    assert_eq!(userinfo(&app, &old).await.status(), 401, "user disabled");
    app.store.enable_user(alice, app.clock.now(), &Effects::default()).await.expect("enable");
    let access = fresh_token(&app).await;
    assert_eq!(userinfo(&app, &access).await.status(), 200, "enabled again");
    assert_eq!(userinfo(&app, &old).await.status(), 401, "the old session ended with the disabling");

    // A cached state is judged at every use: the session's idle timeout.
    let idle = i64::from(app.settings.auth.session_idle_timeout_secs);
    app.clock.advance(Duration::seconds(idle));
    assert_eq!(userinfo(&app, &access).await.status(), 401, "the session timed out");
}

async fn a_change_made_elsewhere_applies_at_the_next_request(backend: Backend) {
    let app = setup(backend).await;
    let alice = alice(&app).await;
    let access = fresh_token(&app).await;
    assert_eq!(email(&app, &access).await, "alice@example.com");

    // Another process writes the database (another instance, the CLI, an
    // operator's SQL): the triggers of migration 0021 move the generation
    // in the same transaction, so the very next check reads again. The
    // clock does not move: the TTL plays no part.
    app.db.execute(&format!("UPDATE users SET email = 'new@example.com' WHERE id = '{alice}'")).await;
    assert_eq!(email(&app, &access).await, "new@example.com", "read again at once");
    let elsewhere = app.db.open().await;
    elsewhere.revoke_user_grants(alice, app.clock.now()).await.expect("revoke");
    assert_eq!(userinfo(&app, &access).await.status(), 401, "revoked elsewhere, refused here at once");

    // A change made behind the triggers' back is seen within the TTL: the
    // cache is used while the generation stays put.
    let access = fresh_token(&app).await;
    app.db
        .execute(match backend {
            Backend::Sqlite => "DROP TRIGGER users_token_generation_u",
            Backend::Postgres => "DROP TRIGGER users_token_generation ON users",
        })
        .await;
    app.db.execute(&format!("UPDATE users SET email = 'other@example.com' WHERE id = '{alice}'")).await;
    assert_eq!(email(&app, &access).await, "new@example.com", "the cached state is used");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(email(&app, &access).await, "other@example.com", "read again after the TTL");
}

both_backends!(
    every_revocation_through_the_instance_applies_at_once,
    a_change_made_elsewhere_applies_at_the_next_request
);
