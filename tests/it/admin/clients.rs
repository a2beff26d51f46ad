//! The console's client pages over HTTP: a registration shows its secret
//! once and the client works at `/token` at once; a rotation's old secret
//! works for the overlap and not after; a disabled client can neither
//! authenticate nor start a sign-in; a deletion (typed confirmation) revokes
//! the client's grants; a client declared in the configuration refuses
//! every change; every change needs the CSRF token; each is audited with
//! its administrator.

use std::sync::Arc;

use portcullis_protocol::GrantType;
use portcullis_server::settings::{ClientSettings, SecretKey};
use portcullis_store::User;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, create_user, hidden, redeem_code, spawn_oidc_app,
    spawn_oidc_app_with, token_request,
};
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::Value;
use time::Duration;

use super::console::{admin_browser, console_csrf};
use crate::review::{CB, authorize_url, location};

/// The text of the element with `id` (up to its first tag), if any.
fn element(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')?;
    Some(html[start..start + end].to_owned())
}

/// `POST /token` with `client_credentials`, authenticated with HTTP Basic.
async fn machine_token(app: &TestApp, client_id: &str, secret: &str) -> u16 {
    app.client
        .post(format!("{}/token", app.address))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .expect("token request")
        .status()
        .as_u16()
}

/// The root administrator in the console: the admin, the browser and its CSRF token.
async fn console(app: &TestApp) -> (User, Browser, String) {
    let root = create_user(app, "root", &["admin"]).await;
    let browser = admin_browser(app, "root").await;
    let csrf = console_csrf(&browser).await;
    (root, browser, csrf)
}

/// The registration form of a machine client `id`, as a browser posts it.
fn machine_form<'a>(csrf: &'a str, id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("client_id", id),
        ("name", "Nightly batch"),
        ("auth_method", "client_secret_basic"),
        ("redirect_uris", ""),
        ("post_logout_redirect_uris", ""),
        ("backchannel_logout_uri", ""),
        ("grant_client_credentials", "on"),
        ("scopes", "api"),
        ("access_token_ttl", "120"),
        ("admin_api", "on"),
    ]
}

/// A machine client `machine` registered in the store; its secret.
async fn machine(app: &TestApp) -> String {
    let mut spec = ClientSpec::confidential("machine", "https://rp.example/cb");
    spec.grants = vec![GrantType::ClientCredentials];
    spec.redirect_uris = vec![];
    spec.scopes = "api".into();
    create_client(app, spec).await.expect("a secret")
}

/// The most recent audit event of `kind`.
async fn last_event(app: &TestApp, kind: &str) -> Option<portcullis_store::NewAuditEvent> {
    let events = app.store.recent_audit(50).await.expect("audit");
    events.into_iter().map(|e| e.event).find(|e| e.kind == kind)
}

async fn a_registered_client_gets_its_secret_once_and_works_at_once(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let (root, admin, csrf) = console(&app).await;
    let form = admin.get("/admin/clients/new").await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.expect("body");
    assert!(hidden(&html, "csrf_token").is_some(), "the form carries the CSRF token");
    assert!(html.contains("name=\"client_id\" type=\"text\" value=\""), "a random id is offered");

    let res = admin.post("/admin/clients/new", &machine_form(&csrf, "batch")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.expect("body");
    let secret = element(&html, "client-secret").expect("the secret is shown");
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert_eq!(machine_token(&app, "batch", &secret).await, 200, "usable at once");
    assert_eq!(machine_token(&app, "batch", "a wrong secret").await, 401);

    let page = admin.get("/admin/clients/batch").await.text().await.expect("body");
    assert!(!page.contains(&secret), "never shown again");
    assert_eq!(element(&page, "client-name").as_deref(), Some("Nightly batch"));
    assert_eq!(element(&page, "client-admin-api").as_deref(), Some("allowed"));
    let list = admin.get("/admin/clients").await.text().await.expect("body");
    assert!(list.contains("href=\"/admin/clients/batch\"") && !list.contains(&secret), "{list}");
    let stored = app.store.find_client("batch").await.expect("find").expect("stored");
    assert_eq!(stored.access_token_ttl_secs, 120);
    assert!(stored.admin_api && !stored.from_config);
    let event = last_event(&app, "client.registered").await.expect("audited");
    assert_eq!(event.detail["actor"], root.id.to_string());
    assert_eq!(event.detail["client_id"], "batch");
    assert!(!event.detail.to_string().contains(&secret), "no secret in the audit log");

    // A refused registration shows the form again, with why; nothing is stored.
    let mut bad = machine_form(&csrf, "bad-uri");
    bad.push(("grant_authorization_code", "on"));
    bad.retain(|(k, _)| *k != "redirect_uris");
    bad.push(("redirect_uris", "https://rp.example/cb#fragment"));
    let res = admin.post("/admin/clients/new", &bad).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.expect("body");
    assert!(element(&html, "register-error").is_some_and(|e| e.contains("redirect URI")), "{html}");
    assert!(html.contains("https://rp.example/cb#fragment"), "what was typed is kept");
    assert_eq!(app.store.find_client("bad-uri").await.expect("find"), None);
    let res = admin.post("/admin/clients/new", &machine_form(&csrf, "batch")).await;
    assert_eq!(res.status(), 409, "the id is taken");
    let stored_again = app.store.find_client("batch").await.expect("find").expect("stored");
    assert_eq!(stored_again, stored, "the first client is untouched");

    // A public client gets no secret; an id needing escapes still has its pages.
    let public = [
        ("csrf_token", csrf.as_str()),
        ("client_id", "team/app?x"),
        ("auth_method", "none"),
        ("redirect_uris", "http://127.0.0.1/cb\n\n  http://[::1]/cb  "),
        ("grant_authorization_code", "on"),
        ("scopes", "openid profile"),
        ("access_token_ttl", "300"),
    ];
    let res = admin.post("/admin/clients/new", &public).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("body");
    assert_eq!(element(&html, "client-secret"), None);
    let stored = app.store.find_client("team/app?x").await.expect("find").expect("stored");
    assert_eq!(stored.redirect_uris, ["http://127.0.0.1/cb", "http://[::1]/cb"], "one a line, trimmed");
    assert!(!stored.require_consent, "an unticked box");
    let page = admin.get("/admin/clients/team%2Fapp%3Fx").await;
    assert_eq!(page.status(), 200);
    assert_eq!(element(&page.text().await.expect("body"), "client-id").as_deref(), Some("team/app?x"));
    let res = admin.post("/admin/clients/team%2Fapp%3Fx/disable", &[("csrf_token", &csrf)]).await;
    assert_eq!(location(&res), "/admin/clients/team%2Fapp%3Fx?done=disabled");
    assert!(app.store.find_client("team/app?x").await.expect("find").expect("stored").disabled);
}

async fn a_rotated_secret_overlaps_for_the_time_asked(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let old = machine(&app).await;
    let (root, admin, csrf) = console(&app).await;
    assert_eq!(machine_token(&app, "machine", &old).await, 200, "cached before the rotation");

    let res = admin
        .post("/admin/clients/machine/rotate-secret", &[("csrf_token", &csrf), ("overlap_secs", "60")])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("body");
    let new = element(&html, "client-secret").expect("the new secret is shown");
    assert!(element(&html, "previous-secret").is_some_and(|p| p.contains("keeps working until")), "{html}");
    assert_eq!(machine_token(&app, "machine", &new).await, 200, "the new one works at once");
    assert_eq!(machine_token(&app, "machine", &old).await, 200, "the old one within the overlap");
    let page = admin.get("/admin/clients/machine").await.text().await.expect("body");
    assert!(!page.contains(&new), "never shown again");
    assert!(element(&page, "previous-secret").is_some(), "the overlap is shown");
    let event = last_event(&app, "client.secret_rotated").await.expect("audited");
    assert_eq!(
        (event.detail["actor"].clone(), event.detail["overlap_secs"].clone()),
        (root.id.to_string().into(), 60.into())
    );

    app.clock.advance(Duration::seconds(59));
    assert_eq!(machine_token(&app, "machine", &old).await, 200, "a second before the end");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(machine_token(&app, "machine", &old).await, 401, "the overlap is over");
    assert_eq!(machine_token(&app, "machine", &new).await, 200);

    // Without an overlap the replaced secret stops at once.
    let res = admin.post("/admin/clients/machine/rotate-secret", &[("csrf_token", &csrf)]).await;
    let newest = element(&res.text().await.expect("body"), "client-secret").expect("shown");
    assert_eq!(machine_token(&app, "machine", &new).await, 401);
    assert_eq!(machine_token(&app, "machine", &newest).await, 200);

    // Too long an overlap, or not a number: nothing changes.
    for overlap in ["2592001", "soon"] {
        let form = [("csrf_token", csrf.as_str()), ("overlap_secs", overlap)];
        let res = admin.post("/admin/clients/machine/rotate-secret", &form).await;
        assert_eq!(res.status(), 400, "{overlap}");
        assert_eq!(machine_token(&app, "machine", &newest).await, 200, "{overlap}");
    }
}

async fn a_disabled_client_can_neither_authenticate_nor_start_a_sign_in(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let secret = machine(&app).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    let (root, admin, csrf) = console(&app).await;
    assert_eq!(machine_token(&app, "machine", &secret).await, 200);

    for id in ["machine", "rp"] {
        let res = admin.post(&format!("/admin/clients/{id}/disable"), &[("csrf_token", &csrf)]).await;
        assert_eq!(
            (res.status().as_u16(), location(&res)),
            (303, format!("/admin/clients/{id}?done=disabled"))
        );
    }
    let page = admin.get("/admin/clients/machine?done=disabled").await.text().await.expect("body");
    assert_eq!(element(&page, "client-status").as_deref(), Some("Disabled"));
    assert_eq!(machine_token(&app, "machine", &secret).await, 401, "no authentication");
    let (_, url) = authorize_url(&app, "openid", None);
    match Browser::new(&app).authorize(&url, Interact::As("alice")).await {
        Outcome::Page(status, _) => assert_eq!(status, 400, "an error page, no redirect"),
        Outcome::Redirect(url) => panic!("a disabled client started a sign-in: {url}"),
    }
    let event = last_event(&app, "client.disabled").await.expect("audited");
    assert_eq!(event.detail["actor"], root.id.to_string());

    for id in ["machine", "rp"] {
        let res = admin.post(&format!("/admin/clients/{id}/enable"), &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), format!("/admin/clients/{id}?done=enabled"));
    }
    assert_eq!(machine_token(&app, "machine", &secret).await, 200, "enabled again");
    let back = Browser::new(&app).authorize(&url, Interact::As("alice")).await.redirect();
    assert!(Outcome::param(&back, "code").is_some(), "{back}");
}

async fn deleting_a_client_revokes_its_grants_after_a_typed_confirmation(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    let (_, admin, csrf) = console(&app).await;
    let (verifier, url) = authorize_url(&app, "openid offline_access", None);
    let back = Browser::new(&app).authorize(&url, Interact::As("alice")).await.redirect();
    let code = Outcome::param(&back, "code").expect("code");
    let tokens: Value = redeem_code(&app, "rp", &code, CB, &verifier).await.json().await.expect("tokens");
    let access = tokens["access_token"].as_str().expect("an access token").to_owned();
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    let userinfo = async |token: &str| {
        let res = app.client.get(format!("{}/userinfo", app.address)).bearer_auth(token).send().await;
        res.expect("userinfo").status().as_u16()
    };
    assert_eq!(userinfo(&access).await, 200);

    // The id typed does not match: nothing changes.
    for typed in ["", "r", "rp2"] {
        let res = admin.post("/admin/clients/rp/delete", &[("csrf_token", &csrf), ("confirm", typed)]).await;
        assert_eq!(res.status(), 400, "{typed:?}");
        assert!(res.text().await.expect("body").contains("does not match"));
    }
    assert!(app.store.find_client("rp").await.expect("find").is_some());
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let res = token_request(&app, "rp", &form).await;
    assert_eq!(res.status(), 200, "the grant is alive");
    let refresh =
        res.json::<Value>().await.expect("json")["refresh_token"].as_str().expect("rotated").to_owned();

    let res = admin.post("/admin/clients/rp/delete", &[("csrf_token", &csrf), ("confirm", "rp")]).await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/admin/clients?done=deleted"));
    assert_eq!(app.store.find_client("rp").await.expect("find"), None);
    assert_eq!(app.db.count("SELECT 1 FROM refresh_tokens").await, 0, "its refresh tokens are gone");
    assert_eq!(app.db.count("SELECT 1 FROM grants").await, 0, "and its grants");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    assert_eq!(token_request(&app, "rp", &form).await.status(), 401, "the refresh token stops working");
    assert_eq!(userinfo(&access).await, 401, "its access tokens stop validating");
    let event = last_event(&app, "client.deleted").await.expect("audited");
    assert_eq!(event.detail["grants_revoked"], 1);
    assert_eq!(admin.get("/admin/clients/rp").await.status(), 404);
}

fn declared() -> ClientSettings {
    ClientSettings {
        client_id: "config-rp".into(),
        name: Some("From the file".into()),
        client_secret: Some(SecretKey::new("config-secret-0123456789abcdef0123456789".into())),
        client_secret_sha256: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        scopes: vec!["api".into()],
        require_consent: false,
        backchannel_logout_uri: None,
        id_token_signed_response_alg: "RS256".into(),
        access_token_ttl: 300,
        jwks: None,
        admin_api: true,
        allowed_origins: vec![],
        dpop_bound_access_tokens: false,
        require_pushed_authorization_requests: false,
        resources: vec![],
    }
}

async fn a_client_of_the_configuration_file_refuses_every_change(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| s.clients.push(declared())).await;
    let (_, admin, csrf) = console(&app).await;
    let before = app.store.find_client("config-rp").await.expect("find").expect("synced");
    assert!(before.admin_api, "admin_api is synced from the file");

    let page = admin.get("/admin/clients/config-rp").await.text().await.expect("body");
    assert!(element(&page, "from-config").is_some_and(|n| n.contains("configuration file")), "{page}");
    assert!(!page.contains("<form method=\"post\" action=\"/admin/clients/"), "no form for a change: {page}");
    assert_eq!(element(&page, "client-admin-api").as_deref(), Some("allowed"));

    for action in ["rotate-secret", "disable", "enable", "delete"] {
        let form = [("csrf_token", csrf.as_str()), ("overlap_secs", "60"), ("confirm", "config-rp")];
        let res = admin.post(&format!("/admin/clients/config-rp/{action}"), &form).await;
        assert_eq!(res.status(), 409, "{action}");
        let html = res.text().await.expect("body");
        assert!(
            html.contains("declared in the configuration file") && html.contains("change it there"),
            "{html}"
        );
    }
    let after = app.store.find_client("config-rp").await.expect("find").expect("still there");
    assert_eq!(after, before, "nothing changed");
    assert_eq!(app.db.count("SELECT 1 FROM audit_events WHERE kind LIKE 'client.%'").await, 0);
    assert_eq!(machine_token(&app, "config-rp", "config-secret-0123456789abcdef0123456789").await, 200);
}

async fn every_change_needs_the_csrf_token(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let secret = machine(&app).await;
    let (_, admin, _) = console(&app).await;
    let before = app.store.find_client("machine").await.expect("find").expect("client");
    let changes = [
        ("/admin/clients/new", vec![("client_id", "sneaky"), ("grant_client_credentials", "on")]),
        ("/admin/clients/machine/rotate-secret", vec![("overlap_secs", "60")]),
        ("/admin/clients/machine/disable", vec![]),
        ("/admin/clients/machine/enable", vec![]),
        ("/admin/clients/machine/delete", vec![("confirm", "machine")]),
    ];
    for (url, fields) in changes {
        for token in [None, Some("wrong"), Some("")] {
            let mut form = fields.clone();
            if let Some(token) = token {
                form.push(("csrf_token", token));
            }
            assert_eq!(admin.post(url, &form).await.status(), 403, "{url} {token:?}");
        }
    }
    assert_eq!(app.store.find_client("sneaky").await.expect("find"), None);
    assert_eq!(app.store.find_client("machine").await.expect("find"), Some(before));
    assert_eq!(machine_token(&app, "machine", &secret).await, 200);
    assert_eq!(app.db.count("SELECT 1 FROM audit_events WHERE kind LIKE 'client.%'").await, 0);
}

async fn a_browser_app_is_registered_with_its_allowed_origins(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let (_, admin, csrf) = console(&app).await;
    let html = admin.get("/admin/clients/new").await.text().await.expect("body");
    assert!(html.contains("name=\"allowed_origins\""), "the form asks for them");
    let form = |origins: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("client_id", "spa".to_owned()),
            ("auth_method", "none".to_owned()),
            ("redirect_uris", "https://spa.example/callback\nhttps://spa.example/silent".to_owned()),
            ("allowed_origins", origins.to_owned()),
            ("grant_authorization_code", "on".to_owned()),
            ("grant_refresh_token", "on".to_owned()),
            ("scopes", "openid offline_access".to_owned()),
            ("access_token_ttl", "300".to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post("/admin/clients/new", &fields).await
        }
    };

    let res = post(form("https://admin.spa.example/")).await;
    assert_eq!(res.status(), 400, "an origin with a path");
    let html = res.text().await.expect("body");
    let error = element(&html, "register-error").expect("why");
    assert!(error.contains("origin") && error.contains("https://admin.spa.example/"), "{error}");
    assert_eq!(app.store.find_client("spa").await.expect("find"), None);

    let res = post(form("  HTTPS://Admin.Spa.Example:443  \n\nhttp://localhost:5173")).await;
    assert_eq!(res.status(), 200);
    let stored = app.store.find_client("spa").await.expect("find").expect("stored");
    assert_eq!(stored.allowed_origins, ["https://admin.spa.example", "http://localhost:5173"], "one a line");
    let page = admin.get("/admin/clients/spa").await.text().await.expect("body");
    for shown in [
        "<li>https://admin.spa.example</li>",
        "<li>http://localhost:5173</li>",
        "<li>https://spa.example <span class=\"hint\">(from a redirect URI)</span></li>",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
}

async fn a_client_is_registered_with_par_required_and_its_resources(backend: Backend) {
    let api = portcullis_server::settings::ResourceSettings {
        identifier: "https://api.example.com/".into(),
        scopes: vec!["api".into()],
        access_token_ttl: None,
        access_token_signing_alg: None,
    };
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = portcullis_tests::oidc::spawn_oidc_app_with(db, |s| s.resources.push(api)).await;
    let (_, admin, csrf) = console(&app).await;
    let html = admin.get("/admin/clients/new").await.text().await.expect("body");
    assert!(html.contains("name=\"resources\""), "the form asks for resources");
    assert!(html.contains("name=\"require_pushed_authorization_requests\""), "and for PAR");
    let form = |resources: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("client_id", "shop".to_owned()),
            ("auth_method", "none".to_owned()),
            ("redirect_uris", "https://shop.example/callback".to_owned()),
            ("require_pushed_authorization_requests", "on".to_owned()),
            ("resources", resources.to_owned()),
            ("grant_authorization_code", "on".to_owned()),
            ("scopes", "openid api".to_owned()),
            ("access_token_ttl", "300".to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post("/admin/clients/new", &fields).await
        }
    };

    let res = post(form("https://unknown.example/")).await;
    assert_eq!(res.status(), 400, "a resource that is not configured");
    let html = res.text().await.expect("body");
    let error = element(&html, "register-error").expect("why");
    assert!(error.contains("https://unknown.example/"), "{error}");
    assert_eq!(app.store.find_client("shop").await.expect("find"), None);

    let res = post(form(" https://api.example.com/ \n")).await;
    assert_eq!(res.status(), 200);
    let stored = app.store.find_client("shop").await.expect("find").expect("stored");
    assert!(stored.require_pushed_authorization_requests);
    assert_eq!(stored.resources, ["https://api.example.com/"]);
    let page = admin.get("/admin/clients/shop").await.text().await.expect("body");
    assert_eq!(element(&page, "client-par").as_deref(), Some("required"), "{page}");
    assert!(page.contains("<li>https://api.example.com/</li>"), "{page}");
}

async fn a_device_client_is_registered_in_the_console(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let (_, admin, csrf) = console(&app).await;
    let html = admin.get("/admin/clients/new").await.text().await.expect("body");
    assert!(html.contains("name=\"grant_device_code\""), "the form offers the device grant");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("client_id", "tv"),
        ("name", "Living-room TV"),
        ("auth_method", "none"),
        ("redirect_uris", ""),
        ("grant_device_code", "on"),
        ("grant_refresh_token", "on"),
        ("scopes", "openid offline_access"),
        ("access_token_ttl", "300"),
    ];
    let res = admin.post("/admin/clients/new", &form).await;
    assert_eq!(res.status(), 200);
    let stored = app.store.find_client("tv").await.expect("find").expect("stored");
    assert_eq!(stored.grant_types, ["refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]);
    let res = app
        .client
        .post(format!("{}/device_authorization", app.address))
        .form(&[("client_id", "tv"), ("scope", "openid")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "the new client may start at once");
}

both_backends!(
    a_client_is_registered_with_par_required_and_its_resources,
    a_device_client_is_registered_in_the_console,
    a_browser_app_is_registered_with_its_allowed_origins,
    a_registered_client_gets_its_secret_once_and_works_at_once,
    a_rotated_secret_overlaps_for_the_time_asked,
    a_disabled_client_can_neither_authenticate_nor_start_a_sign_in,
    deleting_a_client_revokes_its_grants_after_a_typed_confirmation,
    a_client_of_the_configuration_file_refuses_every_change,
    every_change_needs_the_csrf_token,
);
