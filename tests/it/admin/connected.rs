//! "Connected apps": a user (on /account) or an administrator (on the
//! user's console page) ends one client's access — its consent and every
//! token — and the client is told (back-channel logout queued).

use portcullis_core::Clock;
use portcullis_tests::mfa::{enroll_totp, password_sign_in};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, create_user, hidden, pkce, redeem_code,
    spawn_oidc_app, token_request,
};
use portcullis_tests::{Backend, TestApp, both_backends};
use serde_json::Value;

const CB: &str = "http://127.0.0.1:9/cb";

/// Signs `browser` in as `username` to `rp` with `scope`; the refresh token.
async fn refresh_token(app: &TestApp, browser: &Browser, username: &'static str, scope: &str) -> String {
    let (verifier, challenge) = pkce();
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", "rp")
        .append_pair("redirect_uri", CB)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "consent");
    let back = browser.authorize(url.as_str(), Interact::As(username)).await.redirect();
    let code = Outcome::param(&back, "code").expect("code");
    let tokens: Value = redeem_code(app, "rp", &code, CB, &verifier).await.json().await.expect("tokens");
    tokens["refresh_token"].as_str().expect("refresh token").to_owned()
}

async fn refreshes(app: &TestApp, refresh: &str) -> u16 {
    token_request(app, "rp", &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await
        .status()
        .as_u16()
}

async fn a_user_or_an_admin_ends_one_clients_access(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    let mut spec = ClientSpec::confidential("rp", CB);
    spec.require_consent = true;
    spec.backchannel_logout_uri = Some("http://127.0.0.1:9/logout".into());
    create_client(&app, spec).await;

    // Alice, on her account page.
    let browser = Browser::new(&app);
    let refresh = refresh_token(&app, &browser, "alice", "openid profile offline_access").await;
    let refresh = {
        let res =
            token_request(&app, "rp", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        let body: Value = res.json().await.expect("json");
        body["refresh_token"].as_str().expect("rotated").to_owned()
    };
    let page = browser.get("/account").await.text().await.expect("account");
    assert!(page.contains("class=\"app-row\"") && page.contains("offline_access"), "{page}");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let queued_before = app.db.count("SELECT id FROM backchannel_logouts").await;
    let res = browser.post("/account/apps/disconnect", &[("csrf_token", &csrf), ("client_id", "rp")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(refreshes(&app, &refresh).await, 400, "the refresh token died with the connection");
    assert_eq!(app.store.find_consent(alice.id, "rp").await.expect("consent"), None);
    assert!(app.db.count("SELECT id FROM backchannel_logouts").await > queued_before, "the client is told");
    let page = browser.get("/account").await.text().await.expect("account");
    assert!(!page.contains("class=\"app-row\""), "{page}");
    let again = browser.post("/account/apps/disconnect", &[("csrf_token", &csrf), ("client_id", "rp")]).await;
    assert_eq!(again.status(), 400, "nothing left to disconnect");

    // An administrator, on alice's console page.
    let refresh = refresh_token(&app, &Browser::new(&app), "alice", "openid offline_access").await;
    let admin = Browser::new(&app);
    assert_eq!(password_sign_in(&admin, "root", &[]).await.status(), 303);
    enroll_totp(&admin, app.clock.now()).await;
    let page = admin.get(&format!("/admin/users/{}", alice.id)).await.text().await.expect("user page");
    assert!(page.contains(&format!("/admin/users/{}/clients/rp/revoke", alice.id)), "{page}");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let res =
        admin.post(&format!("/admin/users/{}/clients/rp/revoke", alice.id), &[("csrf_token", &csrf)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(refreshes(&app, &refresh).await, 400);
    let events = app.store.recent_audit(5).await.expect("audit");
    let revoked = events.iter().find(|e| e.event.kind == "client.disconnected").expect("audited");
    assert_eq!(revoked.event.detail["client_id"], "rp");
    assert!(revoked.event.detail.get("actor").is_some(), "the admin is named");
}

both_backends!(a_user_or_an_admin_ends_one_clients_access);
