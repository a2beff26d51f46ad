//! Acceptance 3: each rule, broken on purpose.

use portcullis_core::Clock;
use portcullis_protocol::GrantType;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, client_secret, create_client, create_user, pkce, spawn_oidc_app,
    token_request,
};
use portcullis_tests::{Backend, TestApp, both_backends};
use serde_json::Value;

const CB: &str = "http://127.0.0.1:9/cb";

/// An app with user alice and confidential client `rp` (no consent needed).
pub(super) async fn setup(backend: Backend) -> TestApp {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    let mut spec = ClientSpec::confidential("rp", CB);
    spec.post_logout_redirect_uris = vec!["http://127.0.0.1:9/bye".into()];
    create_client(&app, spec).await;
    app
}

fn authorize_url(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

fn standard(challenge: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", "rp"),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = token_request(app, "rp", form).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

/// Signs alice in through `browser` and returns (code, verifier).
pub(super) async fn code_for(app: &TestApp, browser: &Browser, extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut params = standard(&challenge);
    params.extend_from_slice(extra);
    let back = browser.authorize(&authorize_url(app, &params), Interact::As("alice")).await.redirect();
    (Outcome::param(&back, "code").expect("code"), verifier)
}

pub(super) async fn redeem(
    app: &TestApp,
    code: &str,
    verifier: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub(super) async fn userinfo(app: &TestApp, access_token: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
}

fn error_of(url: &url::Url) -> Option<String> {
    Outcome::param(url, "error")
}

async fn pkce_is_required_and_plain_is_refused(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (_, challenge) = pkce();
    let mut missing = standard(&challenge);
    missing.retain(|(k, _)| !k.starts_with("code_challenge"));
    let back = browser.authorize(&authorize_url(&app, &missing), Interact::As("alice")).await.redirect();
    assert_eq!(error_of(&back).as_deref(), Some("invalid_request"));
    assert_eq!(Outcome::param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(Outcome::param(&back, "iss").as_deref(), Some(app.address.as_str()));
    let mut plain = standard(&challenge);
    plain.retain(|(k, _)| *k != "code_challenge_method");
    plain.push(("code_challenge_method", "plain"));
    let back = browser.authorize(&authorize_url(&app, &plain), Interact::As("alice")).await.redirect();
    assert_eq!(error_of(&back).as_deref(), Some("invalid_request"));

    // A wrong verifier at the token endpoint, then a missing one.
    let (code, _) = code_for(&app, &browser, &[]).await;
    let (other, _) = pkce();
    let (status, body, headers) = redeem(&app, &code, &other).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let (status, body, _) =
        token(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
}

async fn an_unregistered_redirect_uri_gets_a_page_never_a_redirect(backend: Backend) {
    let app = setup(backend).await;
    let (_, challenge) = pkce();
    for bad in ["http://127.0.0.1:9/other", "https://evil.example/cb", "http://127.0.0.1:9/cb/", "not a uri"]
    {
        let mut params = standard(&challenge);
        params.retain(|(k, _)| *k != "redirect_uri");
        params.push(("redirect_uri", bad));
        let res = app.client.get(authorize_url(&app, &params)).send().await.expect("authorize");
        assert_eq!(res.status(), 400, "{bad}");
        assert!(res.headers().get("location").is_none(), "no redirect for {bad}");
        let body = res.text().await.expect("body");
        assert!(body.contains("Sign-in request refused"), "{body}");
    }
    // An unknown client, too.
    let mut params = standard(&challenge);
    params.retain(|(k, _)| *k != "client_id");
    params.push(("client_id", "nobody"));
    let res = app.client.get(authorize_url(&app, &params)).send().await.expect("authorize");
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

async fn a_replayed_code_fails_and_revokes_its_tokens(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (code, verifier) = code_for(&app, &browser, &[]).await;
    let (status, first, _) = redeem(&app, &code, &verifier).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().expect("access token").to_owned();
    let refresh = first["refresh_token"].as_str().expect("refresh token").to_owned();
    assert_eq!(userinfo(&app, &access).await.status(), 200);

    let (status, second, _) = redeem(&app, &code, &verifier).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")), "{second}");
    let res = userinfo(&app, &access).await;
    assert_eq!(res.status(), 401, "the access token issued from the replayed code is revoked");
    assert!(res.headers()["www-authenticate"].to_str().expect("ascii").contains("invalid_token"));
    let (status, body, _) =
        token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

async fn an_expired_code_is_refused(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (code, verifier) = code_for(&app, &browser, &[]).await;
    app.clock.advance(time::Duration::seconds(61));
    let (status, body, _) = redeem(&app, &code, &verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

async fn refresh_token_reuse_revokes_the_family(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (code, verifier) = code_for(&app, &browser, &[]).await;
    let (_, tokens, _) = redeem(&app, &code, &verifier).await;
    let first = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, rotated, _) =
        token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &first)]).await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["refresh_token"].as_str().expect("rotated").to_owned();
    let access = rotated["access_token"].as_str().expect("access").to_owned();

    let (status, body, _) = token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &first)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "reuse: {body}");
    let (status, body, _) = token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &second)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the family is revoked: {body}"
    );
    assert_eq!(userinfo(&app, &access).await.status(), 401);

    // Scope may narrow, never widen.
    let (code, verifier) = code_for(&app, &Browser::new(&app), &[]).await;
    let (_, tokens, _) = redeem(&app, &code, &verifier).await;
    let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, body, _) = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("scope", "openid roles")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (status, body, _) = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("scope", "openid email")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "email openid");
}

async fn a_bad_client_secret_is_invalid_client_with_a_basic_challenge(backend: Backend) {
    let app = setup(backend).await;
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .basic_auth("rp", Some("wrong"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().expect("ascii").starts_with("Basic"));
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    // In the body (client_secret_post) against a basic client: refused, no Basic challenge.
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "rp"),
            ("client_secret", &client_secret("rp")),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_none());
}

async fn response_type_token_is_unsupported_and_issues_nothing(backend: Backend) {
    let app = setup(backend).await;
    let (_, challenge) = pkce();
    for response_type in ["token", "id_token", "code id_token", "code token"] {
        let mut params = standard(&challenge);
        params.retain(|(k, _)| *k != "response_type");
        params.push(("response_type", response_type));
        let back = Browser::new(&app)
            .authorize(&authorize_url(&app, &params), Interact::As("alice"))
            .await
            .redirect();
        assert_eq!(error_of(&back).as_deref(), Some("unsupported_response_type"), "{response_type}");
        assert!(back.fragment().is_none(), "nothing in a fragment");
        for token in ["access_token", "id_token", "code"] {
            assert!(Outcome::param(&back, token).is_none(), "{response_type} leaked {token}");
        }
    }
}

async fn prompt_none_without_a_session_is_login_required(backend: Backend) {
    let app = setup(backend).await;
    let (_, challenge) = pkce();
    let mut params = standard(&challenge);
    params.push(("prompt", "none"));
    let res = app.client.get(authorize_url(&app, &params)).send().await.expect("authorize");
    assert_eq!(res.status(), 303);
    let back = url::Url::parse(res.headers()["location"].to_str().expect("ascii")).expect("url");
    assert!(back.as_str().starts_with(CB), "{back}");
    assert_eq!(error_of(&back).as_deref(), Some("login_required"));
    assert_eq!(Outcome::param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(Outcome::param(&back, "iss").as_deref(), Some(app.address.as_str()));
}

fn id_claims(tokens: &Value) -> Value {
    let id_token = tokens["id_token"].as_str().expect("id token");
    let payload = id_token.split('.').nth(1).expect("payload");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

async fn max_age_zero_forces_a_fresh_sign_in(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (code, verifier) = code_for(&app, &browser, &[]).await;
    let (_, tokens, _) = redeem(&app, &code, &verifier).await;
    let first_auth_time = id_claims(&tokens)["auth_time"].as_i64().expect("auth_time");

    app.clock.advance(time::Duration::seconds(100));
    // Signed in already: without max_age, no sign-in page.
    let (_, challenge) = pkce();
    let quiet = browser.authorize(&authorize_url(&app, &standard(&challenge)), Interact::ConsentOnly).await;
    assert!(matches!(quiet, Outcome::Redirect(_)), "an existing session suffices: {quiet:?}");
    // max_age=0: the sign-in page comes back…
    let mut params = standard(&challenge);
    params.push(("max_age", "0"));
    let page = browser.authorize(&authorize_url(&app, &params), Interact::ConsentOnly).await;
    match page {
        Outcome::Page(200, body) => assert!(body.contains("action=\"/login\""), "{body}"),
        other => panic!("max_age=0 must ask for a sign-in, got {other:?}"),
    }
    // …and after it, auth_time is fresh.
    let (code, verifier) = code_for(&app, &browser, &[("max_age", "0")]).await;
    let (_, tokens, _) = redeem(&app, &code, &verifier).await;
    let second_auth_time = id_claims(&tokens)["auth_time"].as_i64().expect("auth_time");
    assert_eq!(second_auth_time - first_auth_time, 100, "a fresh auth_time");
    // prompt=login too (a second later: an authentication in the request's
    // own second counts as fresh for it).
    app.clock.advance(time::Duration::seconds(1));
    let page = browser
        .authorize(
            &authorize_url(&app, &[standard(&challenge), vec![("prompt", "login")]].concat()),
            Interact::ConsentOnly,
        )
        .await;
    assert!(matches!(page, Outcome::Page(200, ref b) if b.contains("action=\"/login\"")), "{page:?}");
}

async fn logout_with_an_unregistered_redirect_does_not_redirect(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (code, verifier) = code_for(&app, &browser, &[]).await;
    let (_, tokens, _) = redeem(&app, &code, &verifier).await;
    let id_token = tokens["id_token"].as_str().expect("id token");
    let access = tokens["access_token"].as_str().expect("access").to_owned();

    let url = format!(
        "/end_session?id_token_hint={id_token}&post_logout_redirect_uri={}&state=s1",
        url::form_urlencoded::byte_serialize(b"https://evil.example/bye").collect::<String>()
    );
    let res = browser.get(&url).await;
    assert_eq!(res.status(), 200, "a page, not a redirect");
    assert!(res.headers().get("location").is_none());
    let body = res.text().await.expect("body");
    assert!(body.contains("not registered"), "{body}");
    assert_eq!(userinfo(&app, &access).await.status(), 200, "nothing ended without confirmation");

    // The registered one, with a valid hint: ends the session and redirects with state.
    let url = format!(
        "/end_session?id_token_hint={id_token}&post_logout_redirect_uri={}&state=s2",
        url::form_urlencoded::byte_serialize(b"http://127.0.0.1:9/bye").collect::<String>()
    );
    let res = browser.get(&url).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "http://127.0.0.1:9/bye?state=s2");

    // Acceptance: userinfo with a token of the logged-out session → 401.
    let res = userinfo(&app, &access).await;
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().expect("ascii").starts_with("Bearer"));
}

async fn userinfo_refuses_tokens_in_the_query_and_missing_tokens(backend: Backend) {
    let app = setup(backend).await;
    let res = app.get("/userinfo").await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"portcullis\"");
    let res = app.get("/userinfo?access_token=abc").await;
    assert_eq!(res.status(), 400);
    let res = userinfo(&app, "not.a.jwt").await;
    assert_eq!(res.status(), 401);
}

async fn client_credentials_for_confidential_clients_only(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let mut machine = ClientSpec::confidential("machine", CB);
    machine.grants = vec![GrantType::ClientCredentials];
    machine.redirect_uris = vec![];
    machine.scopes = "api reports".into();
    let secret = create_client(&app, machine).await.expect("secret");
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .basic_auth("machine", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["scope"], "api");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none(), "{body}");
    let header = jsonwebtoken::decode_header(body["access_token"].as_str().expect("token")).expect("jwt");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    // Widening refused; a client without the grant refused.
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .basic_auth("machine", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 400);
    let mut public = ClientSpec::public("native", "http://127.0.0.1/cb");
    public.grants = vec![GrantType::AuthorizationCode];
    create_client(&app, public).await;
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("grant_type", "client_credentials"), ("client_id", "native")])
        .send()
        .await
        .expect("token");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized_client", "{body}");
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .basic_auth("machine", Some(&secret))
        .form(&[("grant_type", "password"), ("username", "a"), ("password", "b")])
        .send()
        .await
        .expect("token");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "unsupported_grant_type", "{body}");
}

async fn introspection_and_revocation(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (code, verifier) = code_for(&app, &browser, &[]).await;
    let (_, tokens, _) = redeem(&app, &code, &verifier).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let introspect = |token: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(format!("{}/introspect", app.address))
                .basic_auth("rp", Some(client_secret("rp")))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .expect("introspect");
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.expect("json")
        }
    };
    let answer = introspect(access.clone()).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], "rp");
    assert_eq!(answer["username"], "alice");
    assert_eq!(introspect(refresh.clone()).await["active"], true);
    assert_eq!(introspect("garbage".into()).await, serde_json::json!({ "active": false }));

    let revoke = |token: String| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/revoke", app.address))
                .basic_auth("rp", Some(client_secret("rp")))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .expect("revoke")
                .status()
        }
    };
    assert_eq!(revoke("unknown-token".into()).await, 200, "unknown tokens: 200");
    assert_eq!(revoke(access.clone()).await, 200);
    assert_eq!(introspect(access.clone()).await["active"], false);
    assert_eq!(userinfo(&app, &access).await.status(), 401);
    assert_eq!(introspect(refresh.clone()).await["active"], true, "revoking an access token keeps the grant");
    assert_eq!(revoke(refresh.clone()).await, 200);
    assert_eq!(introspect(refresh.clone()).await["active"], false);
    let (status, body, _) =
        token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let _ = app.clock.now();
}

async fn private_key_jwt_assertions_are_single_use(backend: Backend) {
    use josekit::jws::ES256;
    use josekit::jwt::JwtPayload;
    let app = spawn_oidc_app(backend).await;
    let pair = ES256.generate_key_pair().expect("key pair");
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("k1");
    let jwks =
        serde_json::json!({ "keys": [serde_json::to_value(public.as_ref()).expect("jwk")] }).to_string();
    let mut spec = ClientSpec::confidential("signed", CB);
    spec.auth_method = portcullis_protocol::TokenEndpointAuthMethod::PrivateKeyJwt;
    spec.grants = vec![GrantType::ClientCredentials];
    spec.redirect_uris = vec![];
    spec.scopes = "api".into();
    spec.jwks = Some(jwks);
    create_client(&app, spec).await;
    let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).expect("signer");
    let now = app.clock.now().unix_timestamp();
    let mut payload = JwtPayload::new();
    payload.set_issuer("signed");
    payload.set_subject("signed");
    payload.set_audience(vec![format!("{}/token", app.address)]);
    payload.set_jwt_id("assertion-1");
    payload.set_claim("exp", Some(serde_json::json!(now + 60))).expect("exp");
    let mut header = josekit::jws::JwsHeader::new();
    header.set_key_id("k1");
    let assertion = josekit::jwt::encode_with_signer(&payload, &header, &signer).expect("sign");
    let send = |assertion: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(format!("{}/token", app.address))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .expect("token");
            (res.status().as_u16(), res.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = send(assertion.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(assertion).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "a replayed jti: {body}");
    // Signed by another key: refused.
    let other = ES256.generate_key_pair().expect("key pair");
    payload.set_jwt_id("assertion-2");
    let forged = josekit::jwt::encode_with_signer(
        &payload,
        &header,
        &ES256.signer_from_jwk(&other.to_jwk_private_key()).expect("signer"),
    )
    .expect("sign");
    let (status, _) = send(forged).await;
    assert_eq!(status, 401);
}

async fn consent_is_remembered_and_offline_access_always_asks(backend: Backend) {
    let app = setup(backend).await; // `rp` skips consent
    let mut asks = ClientSpec::confidential("asks", CB);
    asks.require_consent = true;
    create_client(&app, asks).await;
    let browser = Browser::new(&app);
    let (_, challenge) = pkce();
    let request = |client: &'static str, scope: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut params = standard(&challenge);
        params.retain(|(k, _)| *k != "client_id" && *k != "scope");
        params.push(("client_id", client));
        params.push(("scope", scope));
        params.extend_from_slice(extra);
        authorize_url(&app, &params)
    };
    // Sign in through a client that needs no consent.
    let back = browser.authorize(&request("rp", "openid", &[]), Interact::As("alice")).await.redirect();
    assert!(Outcome::param(&back, "code").is_some(), "no consent asked: {back}");
    // A consent-requiring client asks; denying is access_denied at the client.
    let back = browser.authorize(&request("asks", "openid email", &[]), Interact::Deny).await.redirect();
    assert_eq!(error_of(&back).as_deref(), Some("access_denied"));
    assert_eq!(Outcome::param(&back, "iss").as_deref(), Some(app.address.as_str()));
    // Allowed once…
    let back =
        browser.authorize(&request("asks", "openid email", &[]), Interact::ConsentOnly).await.redirect();
    assert!(Outcome::param(&back, "code").is_some(), "{back}");
    // …remembered (Deny would show if it asked)…
    let back = browser.authorize(&request("asks", "openid", &[]), Interact::Deny).await.redirect();
    assert!(Outcome::param(&back, "code").is_some(), "remembered: {back}");
    // …unless prompt=consent, or a scope not yet allowed.
    let back = browser
        .authorize(&request("asks", "openid", &[("prompt", "consent")]), Interact::Deny)
        .await
        .redirect();
    assert_eq!(error_of(&back).as_deref(), Some("access_denied"));
    let back = browser.authorize(&request("asks", "openid profile", &[]), Interact::Deny).await.redirect();
    assert_eq!(error_of(&back).as_deref(), Some("access_denied"));
    // offline_access always asks, even for a client that skips consent.
    let back =
        browser.authorize(&request("rp", "openid offline_access", &[]), Interact::Deny).await.redirect();
    assert_eq!(error_of(&back).as_deref(), Some("access_denied"), "offline_access needs consent");
    // prompt=none with consent needed: consent_required, no page.
    let back = browser
        .authorize(&request("asks", "openid roles", &[("prompt", "none")]), Interact::Deny)
        .await
        .redirect();
    assert_eq!(error_of(&back).as_deref(), Some("consent_required"));
    let stored = app.db.count("SELECT user_id FROM consents").await;
    assert_eq!(stored, 1, "one consent row per user and client");
}

/// Verified signatures are remembered per key set: a token that was
/// accepted once does not vouch for an altered copy, and revocation and
/// expiry are still checked on every request.
async fn remembered_signatures_never_vouch_for_altered_tokens(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (code, verifier) = code_for(&app, &browser, &[]).await;
    let (status, body, _) = redeem(&app, &code, &verifier).await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().expect("access token").to_owned();
    assert_eq!(userinfo(&app, &token).await.status(), 200);
    assert_eq!(userinfo(&app, &token).await.status(), 200, "again, from the remembered signature");
    let (head, signature) = token.rsplit_once('.').expect("jws");
    let flipped = if signature.ends_with('A') { 'B' } else { 'A' };
    let altered = format!("{head}.{}{flipped}", &signature[..signature.len() - 1]);
    assert_eq!(userinfo(&app, &altered).await.status(), 401, "an altered signature");
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_payload = parts[1].replacen('e', "f", 1);
    parts[1] = &forged_payload;
    assert_eq!(userinfo(&app, &parts.join(".")).await.status(), 401, "an altered payload");
    app.clock.advance(time::Duration::hours(2));
    assert_eq!(userinfo(&app, &token).await.status(), 401, "expiry is checked every time");
}

both_backends!(
    remembered_signatures_never_vouch_for_altered_tokens,
    consent_is_remembered_and_offline_access_always_asks,
    pkce_is_required_and_plain_is_refused,
    an_unregistered_redirect_uri_gets_a_page_never_a_redirect,
    a_replayed_code_fails_and_revokes_its_tokens,
    an_expired_code_is_refused,
    refresh_token_reuse_revokes_the_family,
    a_bad_client_secret_is_invalid_client_with_a_basic_challenge,
    response_type_token_is_unsupported_and_issues_nothing,
    prompt_none_without_a_session_is_login_required,
    max_age_zero_forces_a_fresh_sign_in,
    logout_with_an_unregistered_redirect_does_not_redirect,
    userinfo_refuses_tokens_in_the_query_and_missing_tokens,
    client_credentials_for_confidential_clients_only,
    introspection_and_revocation,
    private_key_jwt_assertions_are_single_use,
);
