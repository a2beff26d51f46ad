//! The device authorization grant (RFC 8628) over HTTP on both backends:
//! the whole flow (device authorization → `authorization_pending` → the
//! user signs in and approves on `/device` → tokens), denial, expiry,
//! `slow_down`, a device code redeemed twice, another client's device
//! code, clients that may not use the grant, user-code guessing, and
//! oauth4webapi (`tests/oidc-client/device.mjs`) as the device.

use base64::Engine;
use portcullis_core::Clock;
use portcullis_protocol::{GrantType, TokenEndpointAuthMethod};
use portcullis_store::AuditFilter;
use portcullis_tests::node::{self, Script};
use portcullis_tests::oidc::{
    Browser, ClientSpec, PASSWORD, client_secret, create_client, create_user, hidden, spawn_oidc_app,
    spawn_oidc_app_with, token_request,
};
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::Value;
use std::sync::Arc;
use time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public device client (a CLI) `id`, with refresh tokens.
async fn device_client(app: &TestApp, id: &str) {
    let spec = ClientSpec {
        grants: vec![GrantType::DeviceCode, GrantType::RefreshToken],
        ..ClientSpec::public(id, "http://127.0.0.1/cb")
    };
    create_client(app, spec).await;
}

/// `POST /device_authorization` as the public client `client_id`.
async fn start(app: &TestApp, client_id: &str, scope: &str) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/device_authorization", app.address))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .expect("device authorization request");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

/// One poll of the token endpoint as the public client `client_id`.
async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", client_id)])
        .send()
        .await
        .expect("token request");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

/// The `error` of a poll, after moving the clock on by `secs`.
async fn poll_error(app: &TestApp, client_id: &str, device_code: &str, secs: i64) -> String {
    app.clock.advance(Duration::seconds(secs));
    let (status, body) = poll(app, client_id, device_code).await;
    assert_eq!(status, 400, "{body}");
    body["error"].as_str().expect("error").to_owned()
}

fn str_of<'a>(v: &'a Value, member: &str) -> &'a str {
    v[member].as_str().unwrap_or_else(|| panic!("no {member} in {v}"))
}

/// A browser that opened `path` (a `/device` link), was sent to sign in
/// as `user`, and came back: the page it came back to.
async fn sign_in_via(app: &TestApp, path: &str, user: &str) -> (Browser, String) {
    let browser = Browser::new(app);
    let res = browser.get(path).await;
    assert_eq!(res.status().as_u16(), 303, "not signed in: to the sign-in page");
    let login = res.headers()["location"].to_str().expect("ascii").to_owned();
    assert!(login.starts_with("/login?return="), "{login}");
    let page = browser.get(&login).await.text().await.expect("body");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let back = hidden(&page, "return").expect("the sign-in page carries where to return");
    assert!(page.contains("Sign in to connect your device."), "{page}");
    let form = [("csrf_token", csrf.as_str()), ("username", user), ("password", PASSWORD), ("return", &back)];
    let res = browser.post("/login", &form).await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(location, path, "back to the device page after sign-in");
    let res = browser.get(&location).await;
    assert_eq!(res.status().as_u16(), 200);
    (browser, res.text().await.expect("body"))
}

/// Posts `user_code` on `/device` (a lookup): status and page.
async fn enter(browser: &Browser, page: &str, user_code: &str) -> (u16, String) {
    let csrf = hidden(page, "csrf_token").expect("csrf");
    let res = browser.post("/device", &[("csrf_token", &csrf), ("user_code", user_code)]).await;
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

/// Enters `user_code`, then answers `decision` on the confirmation page.
async fn decide(browser: &Browser, page: &str, user_code: &str, decision: &str) -> String {
    let (status, confirm) = enter(browser, page, user_code).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("action=\"/device/decide\""), "no confirmation: {confirm}");
    let csrf = hidden(&confirm, "csrf_token").expect("csrf");
    let code = hidden(&confirm, "user_code").expect("code");
    let res = browser
        .post("/device/decide", &[("csrf_token", &csrf), ("user_code", &code), ("decision", decision)])
        .await;
    assert_eq!(res.status().as_u16(), 200);
    res.text().await.expect("body")
}

fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

async fn audited(app: &TestApp, kind: &str) -> Vec<Value> {
    let filter = AuditFilter { kind: Some(kind.to_owned()), limit: 50, ..AuditFilter::default() };
    let events = app.store.query_audit(&filter).await.expect("audit");
    events.into_iter().map(|e| e.event.detail).collect()
}

async fn the_whole_flow_over_http(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    device_client(&app, "cli").await;

    let (status, started) = start(&app, "cli", "openid profile offline_access").await;
    assert_eq!(status, 200, "{started}");
    let user_code = str_of(&started, "user_code").to_owned();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code.replace('-', "").bytes().all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)), "{user_code}");
    assert_eq!(str_of(&started, "verification_uri"), format!("{}/device", app.address));
    let complete = str_of(&started, "verification_uri_complete").to_owned();
    assert_eq!(complete, format!("{}/device?user_code={user_code}", app.address));
    assert_eq!(started["expires_in"], 600);
    assert_eq!(started["interval"], 5);
    let device_code = str_of(&started, "device_code").to_owned();
    assert_eq!(device_code.len(), 43, "256 bits, base64url");

    assert_eq!(poll_error(&app, "cli", &device_code, 0).await, "authorization_pending");

    // The complete link: sign in, come back, the code is filled in — and
    // nothing is approved until the user clicks.
    let path = complete.strip_prefix(&app.address).expect("under the issuer");
    let (browser, page) = sign_in_via(&app, path, "alice").await;
    assert!(page.contains(&format!("value=\"{user_code}\"")), "the code is filled in: {page}");
    assert_eq!(poll_error(&app, "cli", &device_code, 5).await, "authorization_pending");

    // Typed in lower case without the dash: the same code.
    let typed = user_code.replace('-', "").to_lowercase();
    let (status, confirm) = enter(&browser, &page, &typed).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("cli app"), "the client's name: {confirm}");
    assert!(confirm.contains("Stay connected when you are not signed in here"), "the scopes: {confirm}");
    assert!(confirm.contains(&user_code), "the code as shown: {confirm}");
    assert_eq!(poll_error(&app, "cli", &device_code, 5).await, "authorization_pending");

    let done = decide(&browser, &page, &user_code, "allow").await;
    assert!(done.contains("Device connected"), "{done}");

    app.clock.advance(Duration::seconds(5));
    let (status, tokens) = poll(&app, "cli", &device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "offline_access openid profile");
    assert!(tokens["refresh_token"].is_string(), "offline_access and the refresh grant: {tokens}");
    let id_token = jwt_claims(str_of(&tokens, "id_token"));
    assert_eq!(id_token["sub"], alice.id.to_string());
    assert_eq!(id_token["aud"], "cli");
    assert_eq!(id_token["amr"], serde_json::json!(["pwd"]));
    let access = jwt_claims(str_of(&tokens, "access_token"));
    assert_eq!(access["client_id"], "cli");

    let res = app
        .client
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(str_of(&tokens, "access_token"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(res.status().as_u16(), 200);
    let userinfo: Value = res.json().await.expect("json");
    assert_eq!(userinfo["preferred_username"], "alice");

    let approvals = audited(&app, "device.approved").await;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["client_id"], "cli");

    // The approval is the consent: it is remembered for the client.
    let consent = app.store.find_consent(alice.id, "cli").await.expect("consent").expect("recorded");
    assert!(consent.contains(&"offline_access".to_owned()), "{consent:?}");

    // Redeemed twice: the second poll gets nothing, and what the first got is revoked.
    assert_eq!(poll_error(&app, "cli", &device_code, 5).await, "invalid_grant");
    let refresh = str_of(&tokens, "refresh_token");
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "cli")])
        .send()
        .await
        .expect("refresh");
    assert_eq!(res.status().as_u16(), 400, "the replay revoked the grant");
}

async fn denial_is_access_denied(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    device_client(&app, "cli").await;
    let (_, started) = start(&app, "cli", "openid").await;
    let (user_code, device_code) = (str_of(&started, "user_code"), str_of(&started, "device_code"));

    let (browser, page) = sign_in_via(&app, "/device", "alice").await;
    assert!(page.contains("value=\"\""), "nothing filled in without a code: {page}");
    let done = decide(&browser, &page, user_code, "deny").await;
    assert!(done.contains("was not given access"), "{done}");

    assert_eq!(poll_error(&app, "cli", device_code, 5).await, "access_denied");
    assert_eq!(poll_error(&app, "cli", device_code, 5).await, "access_denied", "it stays denied");
    assert_eq!(audited(&app, "device.denied").await.len(), 1);
    // Decided: the code names no pending device any more.
    let (status, again) = enter(&browser, &page, user_code).await;
    assert_eq!(status, 200);
    assert!(again.contains("not valid, has expired or was already used"), "{again}");
}

async fn expiry_is_expired_token(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    device_client(&app, "cli").await;
    let (_, started) = start(&app, "cli", "openid").await;
    let (user_code, device_code) = (str_of(&started, "user_code"), str_of(&started, "device_code"));

    assert_eq!(poll_error(&app, "cli", device_code, 599).await, "authorization_pending");
    assert_eq!(poll_error(&app, "cli", device_code, 1).await, "expired_token");

    let (browser, page) = sign_in_via(&app, "/device", "alice").await;
    let (_, late) = enter(&browser, &page, user_code).await;
    assert!(late.contains("not valid, has expired or was already used"), "{late}");
}

async fn polling_faster_than_the_interval_slows_down(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    device_client(&app, "cli").await;
    let (_, started) = start(&app, "cli", "openid").await;
    let device_code = str_of(&started, "device_code");

    assert_eq!(poll_error(&app, "cli", device_code, 0).await, "authorization_pending");
    assert_eq!(poll_error(&app, "cli", device_code, 0).await, "slow_down");
    // The interval is now 10 s: 5 s later is still too soon (and grows it to 15 s).
    assert_eq!(poll_error(&app, "cli", device_code, 5).await, "slow_down");
    assert_eq!(poll_error(&app, "cli", device_code, 14).await, "slow_down");
    assert_eq!(poll_error(&app, "cli", device_code, 20).await, "authorization_pending");
}

async fn a_device_code_is_bound_to_its_client(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    device_client(&app, "cli").await;
    device_client(&app, "tv").await;
    let (_, started) = start(&app, "cli", "openid").await;
    let device_code = str_of(&started, "device_code");

    assert_eq!(poll_error(&app, "tv", device_code, 0).await, "invalid_grant");
    // Refused, not recorded: its own client's poll is not slowed down by it.
    assert_eq!(poll_error(&app, "cli", device_code, 0).await, "authorization_pending");
    assert_eq!(poll_error(&app, "cli", "not-a-device-code", 5).await, "invalid_grant");
}

async fn clients_without_the_grant_are_refused(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    device_client(&app, "cli").await;
    create_client(&app, ClientSpec::public("web", "http://127.0.0.1/cb")).await;
    let confidential = ClientSpec {
        grants: vec![GrantType::DeviceCode],
        auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        ..ClientSpec::confidential("tv", "https://tv.example/cb")
    };
    create_client(&app, confidential).await;

    let (status, body) = start(&app, "web", "openid").await;
    assert_eq!((status, str_of(&body, "error")), (400, "unauthorized_client"), "{body}");
    let (status, body) = start(&app, "nobody", "openid").await;
    assert_eq!((status, str_of(&body, "error")), (401, "invalid_client"), "an unknown client: {body}");
    let (status, body) = start(&app, "cli", "openid admin").await;
    assert_eq!((status, str_of(&body, "error")), (400, "invalid_scope"), "{body}");
    let (status, body) = start(&app, "cli", "").await;
    assert_eq!((status, str_of(&body, "error")), (400, "invalid_scope"), "{body}");

    // At the token endpoint too.
    let (_, started) = start(&app, "cli", "openid").await;
    let (status, body) = poll(&app, "web", str_of(&started, "device_code")).await;
    assert_eq!((status, str_of(&body, "error")), (400, "unauthorized_client"), "{body}");

    // A confidential device client authenticates as at /token.
    let res = app
        .client
        .post(format!("{}/device_authorization", app.address))
        .basic_auth("tv", Some(client_secret("tv")))
        .form(&[("scope", "openid")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let res = app
        .client
        .post(format!("{}/device_authorization", app.address))
        .basic_auth("tv", Some("wrong"))
        .form(&[("scope", "openid")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 401);
}

async fn the_admin_api_registers_device_clients(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let bot = ClientSpec {
        grants: vec![GrantType::ClientCredentials],
        scopes: "admin".into(),
        admin_api: true,
        ..ClientSpec::confidential("bot", "https://bot.example/cb")
    };
    create_client(&app, bot).await;
    let res = token_request(&app, "bot", &[("grant_type", "client_credentials"), ("scope", "admin")]).await;
    let token: Value = res.json().await.expect("json");
    let body = serde_json::json!({
        "client_id": "cli",
        "token_endpoint_auth_method": "none",
        "grant_types": [DEVICE_GRANT],
        "scopes": ["openid"],
    });
    let res = app
        .client
        .post(format!("{}/admin/api/v1/clients", app.address))
        .bearer_auth(str_of(&token, "access_token"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let client: Value = res.json().await.expect("json");
    assert_eq!(status, 201, "{client}");
    assert_eq!(client["grant_types"], serde_json::json!([DEVICE_GRANT]));
    let (status, started) = start(&app, "cli", "openid").await;
    assert_eq!(status, 200, "{started}");
}

async fn guessing_user_codes_is_throttled(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| s.auth.max_user_code_failures = 3).await;
    create_user(&app, "mallory", &[]).await;
    device_client(&app, "cli").await;
    let (_, started) = start(&app, "cli", "openid").await;
    let (user_code, device_code) = (str_of(&started, "user_code"), str_of(&started, "device_code"));
    let wrong = if user_code == "BBBB-BBBB" { "CCCC-CCCC" } else { "BBBB-BBBB" };

    let (browser, page) = sign_in_via(&app, "/device", "mallory").await;
    // Not a user code at all: not looked up, not counted.
    let (status, _) = enter(&browser, &page, "nope").await;
    assert_eq!(status, 200);
    for _ in 0..3 {
        let (status, body) = enter(&browser, &page, wrong).await;
        assert_eq!(status, 200);
        assert!(body.contains("not valid"), "{body}");
    }
    // Locked: even the right code is refused, unchecked.
    let (status, body) = enter(&browser, &page, user_code).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Too many wrong codes"), "{body}");
    assert_eq!(poll_error(&app, "cli", device_code, 0).await, "authorization_pending");
    let lockouts = audited(&app, "signin.lockout").await;
    assert!(lockouts.iter().any(|d| d["scope"] == "user_code"), "{lockouts:?}");

    // Once the back-off (30 s) has passed, the right code works.
    app.clock.advance(Duration::seconds(31));
    let done = decide(&browser, &page, user_code, "allow").await;
    assert!(done.contains("Device connected"), "{done}");
    app.clock.advance(Duration::seconds(5));
    assert_eq!(poll(&app, "cli", device_code).await.0, 200);
}

async fn guesses_from_one_address_are_counted_across_users(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| {
        s.auth.max_user_code_failures = 10;
        s.auth.max_failures_per_ip = 4;
    })
    .await;
    create_user(&app, "mallory", &[]).await;
    create_user(&app, "trudy", &[]).await;
    device_client(&app, "cli").await;
    let (_, started) = start(&app, "cli", "openid").await;
    let user_code = str_of(&started, "user_code");
    let wrong = if user_code == "BBBB-BBBB" { "CCCC-CCCC" } else { "BBBB-BBBB" };

    let (mallory, mallory_page) = sign_in_via(&app, "/device", "mallory").await;
    let (trudy, trudy_page) = sign_in_via(&app, "/device", "trudy").await;
    for (browser, page) in [(&mallory, &mallory_page), (&trudy, &trudy_page)] {
        for _ in 0..2 {
            assert_eq!(enter(browser, page, wrong).await.0, 200);
        }
    }
    // Four wrong codes from one address, two each: the address backs off.
    let (status, body) = enter(&trudy, &trudy_page, user_code).await;
    assert_eq!(status, 429, "{body}");
    let (status, _) = enter(&mallory, &mallory_page, user_code).await;
    assert_eq!(status, 429);
}

async fn forms_need_the_csrf_token(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    let (browser, _) = sign_in_via(&app, "/device", "alice").await;
    let res = browser.post("/device", &[("csrf_token", "forged"), ("user_code", "BCDF-GHJK")]).await;
    assert_eq!(res.status().as_u16(), 403);
    let res = browser.post("/device/decide", &[("user_code", "BCDF-GHJK"), ("decision", "allow")]).await;
    assert_eq!(res.status().as_u16(), 403);
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

async fn oauth4webapi_drives_the_device_grant(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    device_client(&app, "node-cli").await;
    let env = vec![
        ("ISSUER", app.address.clone()),
        ("CLIENT_ID", "node-cli".to_owned()),
        ("SCOPE", "openid profile email offline_access".to_owned()),
        // The app runs on a manual clock: the library validates exp/iat on it.
        ("SERVER_TIME", app.clock.now().unix_timestamp().to_string()),
    ];
    let mut cli = Script::spawn(&node::dir("oidc-client"), "oauth4webapi", "device.mjs", &env);

    let (mut cli, started) = blocking(move || {
        let line = cli.read_json();
        (cli, line)
    })
    .await;
    assert_eq!(started["event"], "device_authorization", "{started}");
    let (mut cli, polled) = blocking(move || {
        let line = cli.read_json();
        (cli, line)
    })
    .await;
    assert_eq!(polled["error"], "authorization_pending", "{polled}");

    let complete = str_of(&started, "verification_uri_complete");
    let path = complete.strip_prefix(&app.address).expect("under the issuer");
    let (browser, page) = sign_in_via(&app, path, "alice").await;
    let done = decide(&browser, &page, str_of(&started, "user_code"), "allow").await;
    assert!(done.contains("Device connected"), "{done}");
    app.clock.advance(Duration::seconds(5));

    let report = blocking(move || {
        cli.send_line("approved");
        cli.report()
    })
    .await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(
        report["steps"],
        serde_json::json!([
            "discovery",
            "device_authorization",
            "poll_authorization_pending",
            "device_code_grant",
            "userinfo"
        ])
    );
    assert_eq!(report["sub"], alice.id.to_string());
    assert_eq!(report["id_token"]["aud"], "node-cli");
    assert_eq!(report["refresh_token"], true);
    assert_eq!(report["userinfo"]["email"], "alice@example.com");
}

both_backends!(
    the_whole_flow_over_http,
    denial_is_access_denied,
    expiry_is_expired_token,
    polling_faster_than_the_interval_slows_down,
    a_device_code_is_bound_to_its_client,
    clients_without_the_grant_are_refused,
    the_admin_api_registers_device_clients,
    guessing_user_codes_is_throttled,
    guesses_from_one_address_are_counted_across_users,
    forms_need_the_csrf_token,
    oauth4webapi_drives_the_device_grant,
);
