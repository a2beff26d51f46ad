//! CORS over HTTP: the token, userinfo and revocation endpoints answer the
//! origins some client is allowed — preflights and actual answers, errors
//! included — and nothing to any other origin; discovery and the JWKS
//! answer anyone; the sign-in pages and `/authorize` answer no one. A
//! client registered, disabled or changed through the instance applies at
//! the next request; one changed elsewhere within the TTL.

use portcullis_core::Clock;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, create_user, pkce, spawn_oidc_app,
};
use portcullis_tests::{Backend, TestApp, both_backends};
use reqwest::header::HeaderMap;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use time::Duration;

/// The public SPA's redirect URI: its origin is allowed without being listed.
const SPA_CB: &str = "https://spa.example/callback";
const SPA: &str = "https://spa.example";
/// Listed in the confidential client's `allowed_origins`.
const CONSOLE: &str = "https://console.web.example";
/// The confidential client's redirect URI's origin: implied by nothing.
const WEB: &str = "https://web.example";

/// The three endpoints a page calls, with the method it uses.
const TOKEN_SIDE: [(&str, &str); 3] = [("/token", "POST"), ("/userinfo", "GET"), ("/revoke", "POST")];

/// An app with the public client `spa` (redirect URI at [`SPA`]) and the
/// confidential `web` (redirect URI at [`WEB`], [`CONSOLE`] listed).
async fn app(backend: Backend) -> TestApp {
    let app = spawn_oidc_app(backend).await;
    let mut spa = ClientSpec::public("spa", SPA_CB);
    spa.scopes = "openid profile email offline_access".into();
    create_client(&app, spa).await;
    let mut web = ClientSpec::confidential("web", &format!("{WEB}/cb"));
    web.allowed_origins = vec![CONSOLE.into()];
    create_client(&app, web).await;
    app
}

/// A header's value, if present and text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `Vary` names `Origin`.
fn varies_by_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

/// The `access-control-*` headers of an answer.
fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers.keys().map(|k| k.as_str().to_owned()).filter(|k| k.starts_with("access-control-")).collect()
}

/// A preflight of `method` at `path` from `origin`.
async fn preflight(app: &TestApp, path: &str, method: &str, origin: &str) -> Response {
    app.client
        .request(Method::OPTIONS, format!("{}{path}", app.address))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .expect("preflight")
}

/// Checks an actual answer to a page at `origin`, allowed or not.
fn assert_cors(res: &Response, origin: &str, allowed: bool, what: &str) {
    let headers = res.headers();
    if allowed {
        assert_eq!(header(headers, "access-control-allow-origin"), Some(origin), "{what}");
        assert_eq!(
            header(headers, "access-control-expose-headers"),
            Some("WWW-Authenticate, DPoP-Nonce"),
            "{what}"
        );
    } else {
        assert_eq!(cors_headers(headers), Vec::<String>::new(), "{what}: no CORS header for {origin}");
    }
    assert_eq!(header(headers, "access-control-allow-credentials"), None, "{what}: never credentials");
    assert!(varies_by_origin(headers), "{what}: Vary: Origin");
}

async fn preflights_answer_the_origins_clients_are_allowed(backend: Backend) {
    let app = app(backend).await;
    for (path, method) in TOKEN_SIDE {
        for origin in [SPA, CONSOLE] {
            let res = preflight(&app, path, method, origin).await;
            assert_eq!(res.status(), 204, "{path} from {origin}");
            let headers = res.headers();
            assert_eq!(header(headers, "access-control-allow-origin"), Some(origin), "{path}");
            let methods = header(headers, "access-control-allow-methods").expect("methods");
            assert!(methods.split(", ").any(|m| m == method), "{path}: {methods}");
            assert_eq!(
                header(headers, "access-control-allow-headers"),
                Some("authorization, content-type, dpop"),
                "{path}"
            );
            assert_eq!(header(headers, "access-control-max-age"), Some("7200"), "{path}");
            assert_eq!(header(headers, "access-control-allow-credentials"), None, "{path}");
            assert!(varies_by_origin(headers), "{path}");
        }
        for origin in [
            WEB,
            "https://evil.example",
            "https://spa.example:8443",
            "http://spa.example",
            "https://spa.example.evil",
            "null",
        ] {
            let res = preflight(&app, path, method, origin).await;
            assert_eq!(res.status(), 204, "{path} from {origin}");
            assert_eq!(cors_headers(res.headers()), Vec::<String>::new(), "{path} from {origin}");
            assert!(varies_by_origin(res.headers()), "{path} from {origin}");
        }
    }
    let userinfo_post = preflight(&app, "/userinfo", "POST", SPA).await;
    let methods = header(userinfo_post.headers(), "access-control-allow-methods").expect("methods");
    assert_eq!(methods, "GET, POST", "userinfo takes both (OIDC Core §5.3.1)");
}

/// `POST path` with `form` from `origin`.
async fn post_from(app: &TestApp, path: &str, origin: &str, form: &[(&str, &str)]) -> Response {
    let req = app.client.post(format!("{}{path}", app.address)).header("origin", origin).form(form);
    req.send().await.expect("request")
}

async fn error_answers_name_an_allowed_origin_too(backend: Backend) {
    let app = app(backend).await;
    for (origin, allowed) in [(SPA, true), (CONSOLE, true), (WEB, false), ("https://evil.example", false)] {
        let bad_code = [
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", "nope"),
            ("code_verifier", "x"),
        ];
        let res = post_from(&app, "/token", origin, &bad_code).await;
        assert_eq!(res.status(), 400, "an unknown code");
        assert_cors(&res, origin, allowed, "/token 400");

        let res = app
            .client
            .post(format!("{}/token", app.address))
            .header("origin", origin)
            .basic_auth("web", Some("a wrong secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
            .send()
            .await
            .expect("token");
        assert_eq!(res.status(), 401);
        assert!(header(res.headers(), "www-authenticate").is_some_and(|v| v.starts_with("Basic")));
        assert_cors(&res, origin, allowed, "/token 401");

        let res = post_from(&app, "/token", origin, &[("grant_type", "refresh_token")]).await;
        assert_eq!(res.status(), 401, "no client named: invalid_client");
        assert_cors(&res, origin, allowed, "/token without a client");

        let res = app.client.get(format!("{}/userinfo", app.address)).header("origin", origin).send().await;
        let res = res.expect("userinfo");
        assert_eq!(res.status(), 401);
        let challenge = header(res.headers(), "www-authenticate").expect("the challenge a page must read");
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert_cors(&res, origin, allowed, "/userinfo 401");

        let res = app
            .client
            .get(format!("{}/userinfo", app.address))
            .header("origin", origin)
            .bearer_auth("not.a.token")
            .send()
            .await
            .expect("userinfo");
        assert_eq!(res.status(), 401);
        assert_cors(&res, origin, allowed, "/userinfo invalid_token");

        let res = post_from(&app, "/revoke", origin, &[("client_id", "spa"), ("token", "unknown")]).await;
        assert_eq!(res.status(), 200, "RFC 7009: unknown tokens are fine");
        assert_cors(&res, origin, allowed, "/revoke");

        let res = post_from(&app, "/revoke", origin, &[("client_id", "spa")]).await;
        assert_eq!(res.status(), 400);
        assert_cors(&res, origin, allowed, "/revoke 400");
    }
    // Without an Origin (a server, not a page): no CORS header, still Vary.
    let res = app.client.post(format!("{}/token", app.address)).form(&[("grant_type", "x")]).send().await;
    let res = res.expect("token");
    assert_eq!(cors_headers(res.headers()), Vec::<String>::new());
    assert!(varies_by_origin(res.headers()));
}

async fn a_public_spa_signs_in_refreshes_reads_userinfo_and_revokes_cross_origin(backend: Backend) {
    let app = app(backend).await;
    create_user(&app, "carol", &[]).await;
    let (verifier, challenge) = pkce();
    let url = format!(
        "{}/authorize?client_id=spa&redirect_uri={}&response_type=code&scope=openid%20offline_access&state=s&code_challenge={challenge}&code_challenge_method=S256",
        app.address,
        url::form_urlencoded::byte_serialize(SPA_CB.as_bytes()).collect::<String>()
    );
    let back = Browser::new(&app).authorize(&url, Interact::As("carol")).await.redirect();
    let code = Outcome::param(&back, "code").expect("a code");

    let redeem = [
        ("grant_type", "authorization_code"),
        ("client_id", "spa"),
        ("code", &code),
        ("redirect_uri", SPA_CB),
        ("code_verifier", &verifier),
    ];
    let res = post_from(&app, "/token", SPA, &redeem).await;
    assert_eq!(res.status(), 200);
    assert_cors(&res, SPA, true, "/token 200");
    let tokens: Value = res.json().await.expect("json");
    let access = tokens["access_token"].as_str().expect("access token");
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token (offline_access)");

    for method in [Method::GET, Method::POST] {
        let res = app
            .client
            .request(method.clone(), format!("{}/userinfo", app.address))
            .header("origin", SPA)
            .bearer_auth(access)
            .send()
            .await
            .expect("userinfo");
        assert_eq!(res.status(), 200, "{method}");
        assert_cors(&res, SPA, true, "/userinfo 200");
        assert_eq!(res.json::<Value>().await.expect("json")["sub"].as_str().map(str::len), Some(36));
    }

    let renew = [("grant_type", "refresh_token"), ("client_id", "spa"), ("refresh_token", refresh)];
    let res = post_from(&app, "/token", SPA, &renew).await;
    assert_eq!(res.status(), 200);
    assert_cors(&res, SPA, true, "/token refresh");
    let renewed: Value = res.json().await.expect("json");
    let refresh = renewed["refresh_token"].as_str().expect("rotated");

    let res = post_from(&app, "/revoke", SPA, &[("client_id", "spa"), ("token", refresh)]).await;
    assert_eq!(res.status(), 200);
    assert_cors(&res, SPA, true, "/revoke 200");
    let again = [("grant_type", "refresh_token"), ("client_id", "spa"), ("refresh_token", refresh)];
    assert_eq!(post_from(&app, "/token", SPA, &again).await.status(), 400, "revoked");
}

async fn discovery_and_the_jwks_answer_any_page(backend: Backend) {
    let app = app(backend).await;
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks"] {
        for origin in [SPA, "https://evil.example", "null"] {
            let res = app.client.get(format!("{}{path}", app.address)).header("origin", origin).send().await;
            let res = res.expect("get");
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(header(res.headers(), "access-control-allow-origin"), Some("*"), "{path}");
            assert_eq!(header(res.headers(), "access-control-allow-credentials"), None, "{path}");

            let res = preflight(&app, path, "GET", origin).await;
            assert_eq!(res.status(), 204, "{path}");
            let headers = res.headers();
            assert_eq!(header(headers, "access-control-allow-origin"), Some("*"), "{path}");
            assert_eq!(header(headers, "access-control-allow-methods"), Some("GET"), "{path}");
            assert_eq!(header(headers, "access-control-max-age"), Some("7200"), "{path}");
            assert_eq!(header(headers, "access-control-allow-credentials"), None, "{path}");
        }
    }
    let res = app.client.get(format!("{}/jwks", app.address)).send().await.expect("jwks");
    assert_eq!(header(res.headers(), "access-control-allow-origin"), Some("*"), "with or without Origin");
}

async fn pages_and_the_authorize_endpoint_answer_no_page(backend: Backend) {
    let app = app(backend).await;
    let (_, challenge) = pkce();
    let authorize = format!(
        "/authorize?client_id=spa&redirect_uri={}&response_type=code&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(SPA_CB.as_bytes()).collect::<String>()
    );
    for path in [authorize.as_str(), "/login", "/consent", "/end_session", "/account", "/", "/introspect"] {
        let res = app.client.get(format!("{}{path}", app.address)).header("origin", SPA).send().await;
        let res = res.expect("get");
        assert_eq!(cors_headers(res.headers()), Vec::<String>::new(), "GET {path}");
        let res = preflight(&app, path, "POST", SPA).await;
        assert_ne!(res.status(), 204, "OPTIONS {path} is no preflight answer");
        assert_eq!(cors_headers(res.headers()), Vec::<String>::new(), "OPTIONS {path}");
    }
    let res = post_from(&app, "/introspect", SPA, &[("token", "x")]).await;
    assert_eq!(cors_headers(res.headers()), Vec::<String>::new(), "introspection is for resource servers");
}

async fn client_changes_apply_to_the_next_request(backend: Backend) {
    let app = app(backend).await;
    let allowed = |res: Response| header(res.headers(), "access-control-allow-origin").map(str::to_owned);
    const NEW: &str = "https://new-spa.example";
    assert_eq!(allowed(preflight(&app, "/token", "POST", NEW).await), None, "unknown yet");

    create_client(&app, ClientSpec::public("new-spa", &format!("{NEW}/cb"))).await;
    assert_eq!(allowed(preflight(&app, "/token", "POST", NEW).await).as_deref(), Some(NEW), "registered");

    let now = app.clock.now();
    let effects = portcullis_store::Effects::default();
    app.store.set_client_disabled("new-spa", true, now, &effects).await.expect("disable");
    assert_eq!(
        allowed(preflight(&app, "/token", "POST", NEW).await),
        None,
        "a disabled client allows nothing"
    );
    app.store.set_client_disabled("new-spa", false, now, &effects).await.expect("enable");
    assert_eq!(allowed(preflight(&app, "/token", "POST", NEW).await).as_deref(), Some(NEW));

    // Another process (another store on the same database) deletes it:
    // this instance learns within the TTL (5 s).
    let elsewhere = app.db.open().await;
    elsewhere.delete_client("new-spa").await.expect("delete");
    app.clock.advance(Duration::seconds(4));
    assert_eq!(allowed(preflight(&app, "/token", "POST", NEW).await).as_deref(), Some(NEW), "still known");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(allowed(preflight(&app, "/token", "POST", NEW).await), None, "the TTL is over");
}

async fn origins_registered_through_the_admin_api_apply_at_once(backend: Backend) {
    let app = app(backend).await;
    create_client(&app, crate::admin::api::machine("ops-bot", true)).await;
    let bot = crate::admin::api::token(&app, "ops-bot", "admin").await;
    let auth = crate::admin::api::Auth::Bearer(&bot);
    let call = |body| crate::admin::api::call(&app, "POST", "/clients", auth, &[], Some(body));

    let bad = json!({ "client_id": "bad", "redirect_uris": [format!("{WEB}/cb")], "allowed_origins": ["https://app.example/"] });
    let (status, _, body, _) = call(bad).await;
    assert_eq!(status, 422, "an origin with a path: {body}");
    assert!(body.to_string().contains("https://app.example/"), "the error names it: {body}");

    let client = json!({
        "client_id": "api-web",
        "redirect_uris": [format!("{WEB}/cb")],
        "allowed_origins": ["HTTPS://Admin.Example:443", "http://localhost:5173"],
    });
    let (status, _, body, _) = call(client).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["allowed_origins"], json!(["https://admin.example", "http://localhost:5173"]));
    let (_, _, shown, _) = crate::admin::api::call(&app, "GET", "/clients/api-web", auth, &[], None).await;
    assert_eq!(shown["allowed_origins"], json!(["https://admin.example", "http://localhost:5173"]));

    let res = preflight(&app, "/userinfo", "GET", "https://admin.example").await;
    assert_eq!(header(res.headers(), "access-control-allow-origin"), Some("https://admin.example"));
}

both_backends!(
    preflights_answer_the_origins_clients_are_allowed,
    error_answers_name_an_allowed_origin_too,
    a_public_spa_signs_in_refreshes_reads_userinfo_and_revokes_cross_origin,
    discovery_and_the_jwks_answer_any_page,
    pages_and_the_authorize_endpoint_answer_no_page,
    client_changes_apply_to_the_next_request,
    origins_registered_through_the_admin_api_apply_at_once,
);
