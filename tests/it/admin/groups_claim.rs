//! Groups made in the console reach applications: a member's next ID token
//! and UserInfo carry the group (with the `groups` scope), a removed
//! member's next ones do not.

use base64::Engine;
use portcullis_core::Clock;
use portcullis_tests::mfa::{enroll_totp, password_sign_in};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, create_client, create_user, hidden, pkce, redeem_code, spawn_oidc_app,
    token_request,
};
use portcullis_tests::{Backend, both_backends};
use serde_json::Value;

const CB: &str = "http://127.0.0.1:9/cb";

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"))
        .expect("claims")
}

async fn userinfo(app: &portcullis_tests::TestApp, access_token: &str) -> Value {
    let res = reqwest::Client::new()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn a_members_next_tokens_carry_the_group_and_a_removed_members_do_not(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    let mut spec = ClientSpec::confidential("rp", CB);
    spec.scopes.push_str(" groups");
    create_client(&app, spec).await;

    // The admin makes the group and adds alice, through the console.
    let admin = Browser::new(&app);
    assert_eq!(password_sign_in(&admin, "root", &[]).await.status(), 303);
    enroll_totp(&admin, app.clock.now()).await;
    let page = admin.get("/admin/groups").await.text().await.expect("groups page");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let made = admin.post("/admin/groups", &[("csrf_token", &csrf), ("name", "Ops")]).await;
    assert_eq!(made.status(), 303);
    let group_page =
        made.headers()["location"].to_str().expect("location").split('?').next().expect("path").to_owned();
    let added =
        admin.post(&format!("{group_page}/members"), &[("csrf_token", &csrf), ("login", "alice")]).await;
    assert_eq!(added.status(), 303);
    assert!(admin.get(&group_page).await.text().await.expect("page").contains("alice@example.com"));

    // Alice signs in to the application asking for her groups.
    let user = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", "rp")
        .append_pair("redirect_uri", CB)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid groups offline_access")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "consent");
    let back = user.authorize(url.as_str(), Interact::As("alice")).await.redirect();
    let code = portcullis_tests::oidc::Outcome::param(&back, "code").expect("code");
    let tokens: Value = redeem_code(&app, "rp", &code, CB, &verifier).await.json().await.expect("tokens");
    assert_eq!(claims(tokens["id_token"].as_str().expect("id token"))["groups"], serde_json::json!(["Ops"]));
    let info = userinfo(&app, tokens["access_token"].as_str().expect("access token")).await;
    assert_eq!(info["groups"], serde_json::json!(["Ops"]));

    // Removed: the next tokens (a refresh) and UserInfo no longer carry it.
    let removed =
        admin.post(&format!("{group_page}/members/{}/remove", alice.id), &[("csrf_token", &csrf)]).await;
    assert_eq!(removed.status(), 303);
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let res = token_request(&app, "rp", &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(res.status(), 200);
    let next: Value = res.json().await.expect("json");
    assert_eq!(claims(next["id_token"].as_str().expect("id token"))["groups"], serde_json::json!([]));
    let info = userinfo(&app, next["access_token"].as_str().expect("access token")).await;
    assert_eq!(info["groups"], serde_json::json!([]));
    // The access token issued before the removal answers as the store is now.
    let before = userinfo(&app, tokens["access_token"].as_str().expect("access token")).await;
    assert_eq!(before["groups"], serde_json::json!([]));
}

both_backends!(a_members_next_tokens_carry_the_group_and_a_removed_members_do_not);
