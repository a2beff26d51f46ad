//! Finding 10 and a tightening: "end everything of this user" is one
//! operation (sessions with their back-channel logouts, every grant, offline
//! refresh tokens included), used by a password change, a factor removal
//! and disabling; a password change needs the current password or a recent
//! second factor.

use portcullis_core::Clock;
use portcullis_tests::mfa::{account_csrf, enroll_totp, password_sign_in};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, PASSWORD, create_client, create_user, redeem_code,
    spawn_oidc_app, token_request,
};
use portcullis_tests::{Backend, TestApp, both_backends};
use serde_json::Value;
use time::Duration;

use super::{CB, authorize_url, location};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// An offline refresh token of alice for `rp`, from a sign-in in a new browser.
async fn offline_token(app: &TestApp) -> String {
    let browser = Browser::new(app);
    let (verifier, url) = authorize_url(app, "openid offline_access", None);
    let back = browser.authorize(&url, Interact::As("alice")).await.redirect();
    let code = Outcome::param(&back, "code").expect("code");
    let res = redeem_code(app, "rp", &code, CB, &verifier).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["refresh_token"].as_str().expect("a refresh token").to_owned()
}

async fn refresh_status(app: &TestApp, token: &str) -> (u16, Value) {
    let res = token_request(app, "rp", &[("grant_type", "refresh_token"), ("refresh_token", token)]).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn setup(backend: Backend) -> TestApp {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    app
}

/// Finding 10: a password changed on the account page revokes offline
/// grants too (before, only browser sessions ended).
async fn a_password_change_ends_offline_grants_too(backend: Backend) {
    let app = setup(backend).await;
    let offline = offline_token(&app).await;
    let owner = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&owner, "alice", &[]).await), "/");
    let csrf = account_csrf(&owner).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("current_password", PASSWORD),
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    ];
    assert_eq!(owner.post("/account/password", &form).await.status(), 303);
    let (status, body) = refresh_status(&app, &offline).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(owner.get("/account").await.status(), 200, "the session making the change stays");
}

/// Finding 10: removing a factor ends the user's other sessions and every
/// grant but this session's, offline ones included.
async fn removing_a_factor_ends_offline_grants_too(backend: Backend) {
    let app = setup(backend).await;
    let offline = offline_token(&app).await;
    let owner = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&owner, "alice", &[]).await), "/");
    enroll_totp(&owner, app.clock.now()).await;
    let (status, body) = refresh_status(&app, &offline).await;
    assert_eq!(status, 200, "adding a factor ends nothing: {body}");
    let offline = body["refresh_token"].as_str().expect("the rotated token").to_owned();
    let csrf = account_csrf(&owner).await;
    let res = owner.post("/account/totp/delete", &[("csrf_token", &csrf)]).await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/account?done=totp-removed"));
    let (status, body) = refresh_status(&app, &offline).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let removed = app.db.count("SELECT id FROM audit_events WHERE kind = 'totp.removed'").await;
    assert_eq!(removed, 1);
}

/// Finding 10: disabling a user (the CLI's `users disable`) ends their
/// sessions with back-channel logouts queued, in the same transaction.
async fn disabling_a_user_sends_back_channel_logouts(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    let mut spec = ClientSpec::confidential("rp", CB);
    spec.backchannel_logout_uri = Some("http://127.0.0.1:9/backchannel".into());
    create_client(&app, spec).await;
    let offline = offline_token(&app).await;
    assert_eq!(app.db.count("SELECT id FROM backchannel_logouts").await, 0);
    let accounts = app.accounts();
    let (_, ended) =
        accounts.disable("alice", &portcullis_authn::RequestInfo::default()).await.expect("disable");
    assert_eq!(ended.sessions, 1);
    assert_eq!(app.db.count("SELECT id FROM backchannel_logouts WHERE client_id = 'rp'").await, 1, "queued");
    let (status, body) = refresh_status(&app, &offline).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

/// Tightening: a password change needs the current password (throttled
/// like a sign-in), or a second factor or passkey within the last minutes;
/// a recent password sign-in alone is not enough.
async fn a_password_change_needs_the_current_password_or_a_recent_second_factor(backend: Backend) {
    let app = setup(backend).await;
    let owner = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&owner, "alice", &[]).await), "/");
    let csrf = account_csrf(&owner).await;
    let change = |current: &'static str| {
        let csrf = csrf.clone();
        let owner = &owner;
        async move {
            let mut form = vec![
                ("csrf_token", csrf.as_str()),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ];
            if !current.is_empty() {
                form.push(("current_password", current));
            }
            let res = owner.post("/account/password", &form).await;
            (res.status().as_u16(), res.text().await.expect("body"))
        }
    };
    let (status, body) = change("").await;
    assert_eq!(status, 422, "a recent password sign-in is not enough");
    assert!(body.contains("Enter your current password."), "{body}");
    let (status, body) = change("not my password").await;
    assert_eq!(status, 422);
    assert!(body.contains("Your current password is wrong."), "{body}");
    let alice = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    assert_eq!(super::failures(&app, &format!("pwd:{}", alice.id)).await, 1, "counted like a sign-in");
    assert_eq!(change(PASSWORD).await.0, 303);

    // With a second factor used in this session, no current password.
    let other = Browser::new(&app);
    create_user(&app, "bob", &[]).await;
    assert_eq!(location(&password_sign_in(&other, "bob", &[]).await), "/");
    enroll_totp(&other, app.clock.now()).await;
    let csrf = account_csrf(&other).await;
    let form =
        [("csrf_token", csrf.as_str()), ("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)];
    assert_eq!(other.post("/account/password", &form).await.status(), 303, "a second factor just now");
    // Later, the current password again.
    app.clock.advance(Duration::minutes(6));
    let csrf = account_csrf(&other).await;
    let form = [("csrf_token", csrf.as_str()), ("password", PASSWORD), ("password_confirm", PASSWORD)];
    assert_eq!(other.post("/account/password", &form).await.status(), 422);
}

both_backends!(
    a_password_change_ends_offline_grants_too,
    removing_a_factor_ends_offline_grants_too,
    disabling_a_user_sends_back_channel_logouts,
    a_password_change_needs_the_current_password_or_a_recent_second_factor,
);
