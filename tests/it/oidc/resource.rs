//! Resource indicators (RFC 8707): `resource` at `/authorize` (and in a
//! pushed request) is kept with the grant; at `/token` it selects the
//! access token's audience — `aud` is the resource, the scope narrowed to
//! what it understands, lifetime and algorithm its own. Without it the
//! token is the provider's, as before; UserInfo takes only those.

use std::sync::Arc;

use portcullis_core::Clock;
use portcullis_protocol::GrantType;
use portcullis_server::settings::ResourceSettings;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, client_secret, create_client, create_user, jwt_claims, pkce,
    spawn_oidc_app_with, token_request,
};
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
/// Allowed for the test client: 60 s RS256 tokens with scope `api`.
const API: &str = "https://api.example.com/";
/// Configured, but not allowed for the test client.
const OTHER: &str = "https://other.example.com/";

async fn app(backend: Backend) -> TestApp {
    let api = ResourceSettings {
        identifier: API.into(),
        scopes: vec!["api".into()],
        access_token_ttl: Some(60),
        access_token_signing_alg: Some("RS256".into()),
    };
    let other = ResourceSettings {
        identifier: OTHER.into(),
        scopes: vec!["api".into()],
        access_token_ttl: None,
        access_token_signing_alg: None,
    };
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| s.resources.extend([api, other])).await;
    create_user(&app, "alice", &[]).await;
    let spec = ClientSpec { resources: vec![API.into()], ..ClientSpec::confidential("webapp", REDIRECT) };
    create_client(&app, spec).await;
    app
}

/// `/authorize` for `scope` and `resources`, signed in as alice: the redirect.
async fn authorize(app: &TestApp, scope: &str, resources: &[&str], challenge: &str) -> url::Url {
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut().extend_pairs([
        ("client_id", "webapp"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    for r in resources {
        url.query_pairs_mut().append_pair("resource", r);
    }
    Browser::new(app).authorize(url.as_str(), Interact::As("alice")).await.redirect()
}

/// A code for `scope` with `resources`, and its verifier.
async fn code(app: &TestApp, scope: &str, resources: &[&str]) -> (String, String) {
    let (verifier, challenge) = pkce();
    let back = authorize(app, scope, resources, &challenge).await;
    (Outcome::param(&back, "code").unwrap_or_else(|| panic!("a code: {back}")), verifier)
}

/// Redeems `code`, asking for `resource` (if any).
async fn redeem(app: &TestApp, code: &str, verifier: &str, resource: Option<&str>) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    form.extend(resource.map(|r| ("resource", r)));
    token_request(app, "webapp", &form).await
}

async fn json(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let body: Value = res.json().await.expect("json");
    assert_eq!(got, status, "{body}");
    body
}

async fn userinfo(app: &TestApp, token: &str) -> reqwest::Response {
    app.client.get(format!("{}/userinfo", app.address)).bearer_auth(token).send().await.expect("userinfo")
}

async fn a_token_for_a_resource_has_its_audience_scope_lifetime_and_algorithm(backend: Backend) {
    let app = app(backend).await;
    let (code, verifier) = code(&app, "openid profile api offline_access", &[API]).await;

    let tokens = json(redeem(&app, &code, &verifier, Some(API)).await, 200).await;
    let access = tokens["access_token"].as_str().expect("access token");
    let claims = jwt_claims(access);
    assert_eq!(claims["aud"], API, "the resource is the audience");
    assert_eq!(claims["scope"], "api", "only the scopes the resource understands");
    assert_eq!(tokens["scope"], "api");
    assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 60, "its TTL");
    assert_eq!(tokens["expires_in"], 60);
    assert_eq!(jsonwebtoken::decode_header(access).expect("header").alg, jsonwebtoken::Algorithm::RS256);
    assert!(tokens["id_token"].is_string(), "the ID token is the client's, as before");

    // A token for an API is not a UserInfo token.
    let res = userinfo(&app, access).await;
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().expect("ascii").contains("invalid_token"));

    // Introspection reports the audience.
    let res = app
        .client
        .post(format!("{}/introspect", app.address))
        .basic_auth("webapp", Some(client_secret("webapp")))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    let answer = json(res, 200).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["aud"], API);

    // Refreshed for the resource: the same audience; without: the issuer's.
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", API)];
    let refreshed = json(token_request(&app, "webapp", &form).await, 200).await;
    assert_eq!(jwt_claims(refreshed["access_token"].as_str().expect("at"))["aud"], API);
    let next = refreshed["refresh_token"].as_str().expect("rotated");
    let own = json(
        token_request(&app, "webapp", &[("grant_type", "refresh_token"), ("refresh_token", next)]).await,
        200,
    )
    .await;
    let own_access = own["access_token"].as_str().expect("at");
    let own_claims = jwt_claims(own_access);
    assert_eq!(own_claims["aud"], app.address.as_str(), "without resource: the issuer, as before");
    assert_eq!(own_claims["scope"], "api offline_access openid profile");
    assert_eq!(userinfo(&app, own_access).await.status(), 200, "the provider's token is a UserInfo token");
}

async fn without_resource_nothing_changes(backend: Backend) {
    let app = app(backend).await;
    let (code, verifier) = code(&app, "openid profile", &[]).await;
    let tokens = json(redeem(&app, &code, &verifier, None).await, 200).await;
    let access = tokens["access_token"].as_str().expect("at");
    let claims = jwt_claims(access);
    assert_eq!(claims["aud"], app.address.as_str());
    assert_eq!(claims["scope"], "openid profile");
    assert_eq!(tokens["expires_in"], 300, "the client's TTL");
    assert_eq!(jsonwebtoken::decode_header(access).expect("header").alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(userinfo(&app, access).await.status(), 200);
}

async fn a_resource_not_allowed_at_authorize_is_invalid_target(backend: Backend) {
    let app = app(backend).await;
    let (_, challenge) = pkce();
    for bad in [OTHER, "https://unknown.example/", "https://api.example.com/#frag", "not-a-uri"] {
        let back = authorize(&app, "openid api", &[API, bad], &challenge).await;
        assert!(back.as_str().starts_with(REDIRECT), "to the verified redirect URI: {back}");
        assert_eq!(Outcome::param(&back, "error").as_deref(), Some("invalid_target"), "{bad}: {back}");
        assert_eq!(Outcome::param(&back, "state").as_deref(), Some("st"));
        assert!(Outcome::param(&back, "code").is_none());
    }
}

async fn a_resource_not_authorized_at_token_is_invalid_target(backend: Backend) {
    let app = app(backend).await;
    // Authorized without a resource: the grant names none.
    let (code, verifier) = code(&app, "openid api offline_access", &[]).await;
    for bad in [API, OTHER, "https://unknown.example/", "https://api.example.com/#f", "relative/path"] {
        let body = json(redeem(&app, &code, &verifier, Some(bad)).await, 400).await;
        assert_eq!(body["error"], "invalid_target", "{bad}");
    }
    // Refused before the redemption: the code still works.
    let tokens = json(redeem(&app, &code, &verifier, None).await, 200).await;
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", API)];
    let body = json(token_request(&app, "webapp", &form).await, 400).await;
    assert_eq!(body["error"], "invalid_target", "not part of the authorization");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    json(token_request(&app, "webapp", &form).await, 200).await;
}

async fn client_credentials_for_a_resource(backend: Backend) {
    let app = app(backend).await;
    let mut spec = ClientSpec::confidential("machine", REDIRECT);
    spec.grants = vec![GrantType::ClientCredentials];
    spec.scopes = "api reports".into();
    spec.resources = vec![API.into()];
    create_client(&app, spec).await;

    let form = [("grant_type", "client_credentials"), ("resource", API)];
    let tokens = json(token_request(&app, "machine", &form).await, 200).await;
    let claims = jwt_claims(tokens["access_token"].as_str().expect("at"));
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["sub"], "machine");
    assert_eq!(claims["scope"], "api", "reports is not the API's");
    assert_eq!(tokens["expires_in"], 60);

    let form = [("grant_type", "client_credentials"), ("resource", OTHER)];
    let body = json(token_request(&app, "machine", &form).await, 400).await;
    assert_eq!(body["error"], "invalid_target");
    let form = [("grant_type", "client_credentials")];
    let tokens = json(token_request(&app, "machine", &form).await, 200).await;
    assert_eq!(jwt_claims(tokens["access_token"].as_str().expect("at"))["aud"], app.address.as_str());
}

async fn a_pushed_request_carries_its_resources(backend: Backend) {
    let app = app(backend).await;
    let (verifier, challenge) = pkce();
    let form = [
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid api"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("resource", API),
    ];
    let push = |form: Vec<(&'static str, String)>| {
        app.client
            .post(format!("{}/par", app.address))
            .basic_auth("webapp", Some(client_secret("webapp")))
            .form(&form)
            .send()
    };
    let owned = |extra: Option<(&'static str, &str)>| {
        let mut v: Vec<(&'static str, String)> = form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        v.extend(extra.map(|(k, x)| (k, x.to_owned())));
        v
    };
    let body = json(push(owned(Some(("resource", OTHER)))).await.expect("par"), 400).await;
    assert_eq!(body["error"], "invalid_target", "the same rule as /authorize");

    let body = json(push(owned(None)).await.expect("par"), 201).await;
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", "webapp")
        .append_pair("request_uri", body["request_uri"].as_str().expect("uri"));
    let back = Browser::new(&app).authorize(url.as_str(), Interact::As("alice")).await.redirect();
    let code = Outcome::param(&back, "code").expect("code");
    let tokens = json(redeem(&app, &code, &verifier, Some(API)).await, 200).await;
    assert_eq!(jwt_claims(tokens["access_token"].as_str().expect("at"))["aud"], API);
}

async fn clients_are_allowed_only_configured_resources(backend: Backend) {
    let app = app(backend).await;
    let registry = portcullis_protocol::clients::Registry {
        store: app.store.as_ref(),
        now: app.clock.now(),
        max_token_lifetime: time::Duration::days(1),
        resources: &portcullis_protocol::Resources::empty(),
    };
    let spec = portcullis_protocol::clients::ClientSpec {
        redirect_uris: vec![REDIRECT.into()],
        resources: vec![API.into()],
        ..portcullis_protocol::clients::ClientSpec::new("stray")
    };
    let err = registry
        .register(&portcullis_protocol::clients::Actor::Operator, &spec)
        .await
        .expect_err("a resource that is not configured");
    assert!(err.to_string().contains(API), "{err}");
}

async fn the_admin_api_registers_par_and_resources(backend: Backend) {
    let app = app(backend).await;
    create_client(&app, crate::admin::api::machine("ops-bot", true)).await;
    let bot = crate::admin::api::token(&app, "ops-bot", "admin").await;
    let auth = crate::admin::api::Auth::Bearer(&bot);
    let call = |body| crate::admin::api::call(&app, "POST", "/clients", auth, &[], Some(body));

    let bad = serde_json::json!({ "client_id": "bad", "redirect_uris": [REDIRECT], "resources": [OTHER, "https://nowhere.example/"] });
    let (status, _, body, _) = call(bad).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("https://nowhere.example/"), "the error names it: {body}");

    let good = serde_json::json!({
        "client_id": "api-web",
        "redirect_uris": [REDIRECT],
        "require_pushed_authorization_requests": true,
        "resources": [API],
    });
    let (status, _, body, _) = call(good).await;
    assert_eq!(status, 201, "{body}");
    let (_, _, shown, _) = crate::admin::api::call(&app, "GET", "/clients/api-web", auth, &[], None).await;
    for doc in [&body, &shown] {
        assert_eq!(doc["require_pushed_authorization_requests"], true, "{doc}");
        assert_eq!(doc["resources"], serde_json::json!([API]), "{doc}");
    }
}

both_backends!(
    the_admin_api_registers_par_and_resources,
    a_token_for_a_resource_has_its_audience_scope_lifetime_and_algorithm,
    without_resource_nothing_changes,
    a_resource_not_allowed_at_authorize_is_invalid_target,
    a_resource_not_authorized_at_token_is_invalid_target,
    client_credentials_for_a_resource,
    a_pushed_request_carries_its_resources,
    clients_are_allowed_only_configured_resources,
);
