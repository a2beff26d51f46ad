//! Several instances on one database, SQL only (no Redis): two instances
//! behind a round-robin proxy on loopback, the proxy's address their common
//! issuer, the key-encryption key shared through the data folder (issue 18).
//!
//! - `journey`: a relying party's journey with its steps on alternating
//!   instances, ending in a logout that both instances honour at once.
//! - `logout`: a logout on one instance is refused by the very next request
//!   on the other, many times under load (the token-state generation in the
//!   database, not a notification that may come late).
//! - `code_race`: one code raced over both instances is redeemed once and
//!   its grant revoked.
//! - `exactly_once`: a due rotation makes one key; queued mail and
//!   back-channel logout tokens are delivered once each by two workers.
//! - `killed`: an instance stopped abruptly mid-load; the other serves on.

mod code_race;
mod exactly_once;
mod journey;
mod killed;
mod logout;

use portcullis_tests::cluster::{Cluster, spawn_cluster};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, create_user, pkce, token_request,
};
use portcullis_tests::{Backend, TestApp};
use serde_json::Value;

pub(super) const CB: &str = "http://127.0.0.1:9/cb";
pub(super) const BYE: &str = "http://127.0.0.1:9/bye";

/// Two instances on a fresh `backend` database with users alice and bob and
/// the confidential client `rp` (no consent, post-logout URI [`BYE`]).
pub(super) async fn pair(backend: Backend) -> Cluster {
    pair_with(backend, |_| {}).await
}

/// [`pair`], with settings changed by `customise` (e.g. Redis).
pub(super) async fn pair_with(
    backend: Backend,
    customise: impl Fn(&mut portcullis_server::Settings) + Clone,
) -> Cluster {
    let cluster = spawn_cluster(backend, 2, customise).await;
    let a = &cluster.apps[0];
    create_user(a, "alice", &[]).await;
    create_user(a, "bob", &[]).await;
    let mut spec = ClientSpec::confidential("rp", CB);
    spec.post_logout_redirect_uris = vec![BYE.into()];
    create_client(a, spec).await;
    cluster
}

/// Signs `user` in through `browser` at `base` (the proxy or one instance)
/// for client `rp`; returns (code, verifier).
pub(super) async fn code_at(base: &str, browser: &Browser, user: &'static str) -> (String, String) {
    code_with(base, browser, Interact::As(user)).await
}

/// [`code_at`], interacting as `interact` says.
pub(super) async fn code_with(base: &str, browser: &Browser, interact: Interact) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut url = url::Url::parse(&format!("{base}/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", "rp")
        .append_pair("redirect_uri", CB)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile email")
        .append_pair("nonce", "n-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = browser.authorize(url.as_str(), interact).await.redirect();
    (Outcome::param(&back, "code").expect("code"), verifier)
}

/// `POST /token` on `app` as `rp`: (status, body).
pub(super) async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let res = token_request(app, "rp", form).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Redeems `code` on `app`.
pub(super) async fn redeem(app: &TestApp, code: &str, verifier: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("code_verifier", verifier),
    ];
    token(app, &form).await
}

/// Refreshes on `app`.
pub(super) async fn refresh(app: &TestApp, refresh_token: &str) -> (u16, Value) {
    token(app, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
}

/// The status of `GET /userinfo` on `app` with `access`.
pub(super) async fn userinfo(app: &TestApp, access: &str) -> u16 {
    let res = app.client.get(format!("{}/userinfo", app.address)).bearer_auth(access).send().await;
    res.expect("userinfo").status().as_u16()
}

/// Whether `app`'s introspection (as `rp`) finds `access` active.
pub(super) async fn active(app: &TestApp, access: &str) -> bool {
    let res = app
        .client
        .post(format!("{}/introspect", app.address))
        .basic_auth("rp", Some(portcullis_tests::oidc::client_secret("rp")))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "introspection: {body}");
    body["active"].as_bool().expect("active")
}

/// RP-initiated logout on `app` with `browser`'s session and `id_token`:
/// the session ends at once (the hint names the signed-in user).
pub(super) async fn end_session(app: &TestApp, browser: &Browser, id_token: &str) {
    let mut url = url::Url::parse(&format!("{}/end_session", app.address)).expect("url");
    url.query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", BYE)
        .append_pair("client_id", "rp");
    let res = browser.get(url.as_str()).await;
    let status = res.status().as_u16();
    let location = res.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("").to_owned();
    assert!(
        (300..400).contains(&status) && location.starts_with(BYE),
        "{status} {location}: {}",
        res.text().await.unwrap_or_default()
    );
}

/// A string field of a token response.
pub(super) fn field(body: &Value, name: &str) -> String {
    body[name].as_str().unwrap_or_else(|| panic!("no {name} in {body}")).to_owned()
}
