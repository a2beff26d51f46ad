//! Pushed authorization requests (RFC 9126): `/par` checks a request by
//! the rules of `/authorize` and answers a short-lived, single-use
//! `request_uri`; `/authorize` takes the pushed request by it (and ignores
//! the other parameters); a client may be required to push.

use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, client_secret, create_client, create_user, jwt_claims, pkce,
    redeem_code, spawn_oidc_app,
};
use portcullis_tests::{Backend, TestApp, both_backends};
use serde_json::Value;
use time::Duration;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// `POST /par` as the confidential `client_id` with `form`.
async fn push(app: &TestApp, client_id: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}/par", app.address))
        .basic_auth(client_id, Some(client_secret(client_id)))
        .form(form)
        .send()
        .await
        .expect("par request")
}

/// A complete authorization request's parameters, with `challenge`.
fn request<'a>(challenge: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", state),
        ("nonce", "n-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Pushes a valid request as `client_id`; its `request_uri`.
async fn pushed(app: &TestApp, client_id: &str, challenge: &str) -> String {
    let res = push(app, client_id, &request(challenge, "st-pushed")).await;
    assert_eq!(res.status(), 201, "pushed");
    let body: Value = res.json().await.expect("json");
    body["request_uri"].as_str().expect("request_uri").to_owned()
}

fn authorize_url(app: &TestApp, client_id: &str, request_uri: &str) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut().append_pair("client_id", client_id).append_pair("request_uri", request_uri);
    url.to_string()
}

/// The page shown for an unusable `request_uri`: never a redirect.
fn assert_refused_page(outcome: Outcome) {
    match outcome {
        Outcome::Page(status, body) => {
            assert_eq!(status, 400, "{body}");
            assert!(body.contains("request_uri is unknown, expired, already used"), "{body}");
        }
        Outcome::Redirect(url) => panic!("an unusable request_uri redirected to {url}"),
    }
}

async fn a_pushed_request_is_authorized_and_its_code_redeemed(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("webapp", REDIRECT)).await;
    let (verifier, challenge) = pkce();

    let res = push(&app, "webapp", &request(&challenge, "st-pushed")).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["expires_in"], 60, "short-lived");
    let request_uri = body["request_uri"].as_str().expect("request_uri");
    let reference = request_uri.strip_prefix(PREFIX).expect("the RFC 9126 URN");
    assert!(reference.len() >= 43, "256 random bits: {reference}");

    // RFC 9126 §4: the pushed parameters are the request; others are ignored.
    let url = format!("{}&state=ignored&scope=openid%20email", authorize_url(&app, "webapp", request_uri));
    let back = Browser::new(&app).authorize(&url, Interact::As("alice")).await.redirect();
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(Outcome::param(&back, "state").as_deref(), Some("st-pushed"), "the pushed state");
    let code = Outcome::param(&back, "code").expect("code");
    let res = redeem_code(&app, "webapp", &code, REDIRECT, &verifier).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.expect("json");
    assert_eq!(tokens["scope"], "openid profile", "the pushed scope, not the query's");
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(claims["sub"], alice.id.to_string());
    assert_eq!(claims["nonce"], "n-1");
}

async fn a_public_client_pushes_with_its_client_id(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::public("native", REDIRECT)).await;
    let (verifier, challenge) = pkce();
    let mut form = request(&challenge, "st");
    form.push(("client_id", "native"));
    let res = app.client.post(format!("{}/par", app.address)).form(&form).send().await.expect("par");
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    let url = authorize_url(&app, "native", body["request_uri"].as_str().expect("uri"));
    let back = Browser::new(&app).authorize(&url, Interact::As("alice")).await.redirect();
    let code = Outcome::param(&back, "code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "native"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let res = app.client.post(format!("{}/token", app.address)).form(&form).send().await.expect("token");
    assert_eq!(res.status(), 200);
}

async fn a_request_uri_is_used_once(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("webapp", REDIRECT)).await;
    let (_, challenge) = pkce();
    let request_uri = pushed(&app, "webapp", &challenge).await;
    let url = authorize_url(&app, "webapp", &request_uri);
    Browser::new(&app).authorize(&url, Interact::As("alice")).await.redirect();
    assert_refused_page(Browser::new(&app).authorize(&url, Interact::As("alice")).await);
}

async fn an_expired_request_uri_is_refused(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_client(&app, ClientSpec::confidential("webapp", REDIRECT)).await;
    let (_, challenge) = pkce();
    let request_uri = pushed(&app, "webapp", &challenge).await;
    app.clock.advance(Duration::seconds(60));
    assert_refused_page(
        Browser::new(&app).authorize(&authorize_url(&app, "webapp", &request_uri), Interact::Deny).await,
    );
}

async fn a_request_uri_of_another_client_or_unknown_is_refused(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_client(&app, ClientSpec::confidential("webapp", REDIRECT)).await;
    create_client(&app, ClientSpec::confidential("other", REDIRECT)).await;
    let (_, challenge) = pkce();
    let request_uri = pushed(&app, "webapp", &challenge).await;
    let browser = Browser::new(&app);
    assert_refused_page(browser.authorize(&authorize_url(&app, "other", &request_uri), Interact::Deny).await);
    let unknown = format!("{PREFIX}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_refused_page(browser.authorize(&authorize_url(&app, "webapp", &unknown), Interact::Deny).await);
    assert_refused_page(
        browser
            .authorize(&authorize_url(&app, "webapp", "https://rp.example/request.jwt"), Interact::Deny)
            .await,
    );
}

/// `/par` refuses what `/authorize` refuses, as JSON.
async fn a_bad_pushed_request_is_refused_with_json(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_client(&app, ClientSpec::confidential("webapp", REDIRECT)).await;
    let (_, challenge) = pkce();
    let with = |name: &'static str, value: &'static str| {
        let mut form: Vec<(&str, &str)> =
            request(&challenge, "st").into_iter().filter(|(k, _)| *k != name).collect();
        if !value.is_empty() {
            form.push((name, value));
        }
        form
    };
    let cases = [
        (with("redirect_uri", "https://evil.example/cb"), "invalid_request"),
        (with("code_challenge", ""), "invalid_request"),
        (with("code_challenge_method", "plain"), "invalid_request"),
        (with("scope", "openid admin"), "invalid_scope"),
        (with("response_type", "token"), "unsupported_response_type"),
        (with("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"),
        (with("request_uri", "urn:ietf:params:oauth:request_uri:abc"), "invalid_request"),
        (with("client_id", "other"), "invalid_request"),
    ];
    for (form, error) in cases {
        let res = push(&app, "webapp", &form).await;
        assert_eq!(res.status(), 400, "{form:?}");
        assert!(res.headers().get("location").is_none(), "never a redirect");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], error, "{form:?}: {body}");
    }
    let res = app
        .client
        .post(format!("{}/par", app.address))
        .basic_auth("webapp", Some("wrong-secret"))
        .form(&request(&challenge, "st"))
        .send()
        .await
        .expect("par");
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_client");
}

async fn a_client_that_must_push_is_refused_at_authorize_without_it(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    let spec = ClientSpec {
        require_pushed_authorization_requests: true,
        ..ClientSpec::confidential("strict", REDIRECT)
    };
    create_client(&app, spec).await;
    let (_, challenge) = pkce();
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut().append_pair("client_id", "strict").extend_pairs(request(&challenge, "st"));
    let back = Browser::new(&app).authorize(url.as_str(), Interact::As("alice")).await.redirect();
    assert_eq!(Outcome::param(&back, "error").as_deref(), Some("invalid_request"), "{back}");
    assert!(Outcome::param(&back, "code").is_none());

    let request_uri = pushed(&app, "strict", &challenge).await;
    let back = Browser::new(&app)
        .authorize(&authorize_url(&app, "strict", &request_uri), Interact::As("alice"))
        .await;
    assert!(Outcome::param(&back.redirect(), "code").is_some(), "pushed, it is authorized");
}

async fn discovery_advertises_par(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    for doc in ["openid-configuration", "oauth-authorization-server"] {
        let meta: Value = app
            .client
            .get(format!("{}/.well-known/{doc}", app.address))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        assert_eq!(meta["pushed_authorization_request_endpoint"], format!("{}/par", app.address), "{doc}");
        assert_eq!(meta["require_pushed_authorization_requests"], false, "{doc}");
    }
}

both_backends!(
    a_pushed_request_is_authorized_and_its_code_redeemed,
    a_public_client_pushes_with_its_client_id,
    a_request_uri_is_used_once,
    an_expired_request_uri_is_refused,
    a_request_uri_of_another_client_or_unknown_is_refused,
    a_bad_pushed_request_is_refused_with_json,
    a_client_that_must_push_is_refused_at_authorize_without_it,
    discovery_advertises_par,
);
