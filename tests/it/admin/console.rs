//! The admin console over HTTP: who may enter (every route, table-driven
//! over `admin_routes()`, so a route added without the gate fails here),
//! CSRF on every change, and what a change does.

use portcullis_core::Clock;
use portcullis_store::{Effects, User};
use portcullis_tests::mfa::{enroll_totp, password_sign_in};
use portcullis_tests::oidc::{Browser, ClientSpec, create_client, create_user, hidden, spawn_oidc_app};
use portcullis_tests::{Backend, TestApp, both_backends};
use portcullis_web::admin_routes;
use time::Duration;

/// The run-time client the client pages are asked about.
const CLIENT: &str = "walked";

/// `path` with `{id}` replaced by what its page is about: [`CLIENT`] on the
/// client pages, else the user `id`.
fn concrete(path: &str, id: &str) -> String {
    let id = if path.starts_with("/admin/clients/") { CLIENT } else { id };
    path.replace("{id}", id)
}

/// A browser signed in as the admin `name` with a second factor (enrolled
/// in this session, which completes it).
pub(crate) async fn admin_browser(app: &TestApp, name: &str) -> Browser {
    let browser = Browser::new(app);
    let res = password_sign_in(&browser, name, &[]).await;
    assert_eq!(res.status(), 303, "signed in");
    enroll_totp(&browser, app.clock.now()).await;
    browser
}

/// The console's CSRF token of `browser` (from the dashboard).
pub(crate) async fn console_csrf(browser: &Browser) -> String {
    let page = browser.get("/admin").await;
    assert_eq!(page.status(), 200, "the console opens");
    hidden(&page.text().await.expect("body"), "csrf_token").expect("csrf")
}

/// Asks every console route as `browser` (posting `csrf` to the POST
/// routes); returns (method, path, status, location) of each.
async fn walk(browser: &Browser, target: &User, csrf: &str) -> Vec<(String, String, u16, String)> {
    let mut seen = Vec::new();
    for (method, path) in admin_routes() {
        let url = concrete(path, &target.id.to_string());
        let res = match method {
            "GET" => browser.get(&url).await,
            // What each change needs to act (a deletion's typed id too), so
            // that a route without the gate would change something.
            _ => browser.post(&url, &[("csrf_token", csrf), ("required", "on"), ("confirm", CLIENT)]).await,
        };
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        seen.push((method.to_owned(), url, res.status().as_u16(), location));
    }
    seen
}

/// Nothing about `target` changed: enabled, no second factor required, no audit of the console.
async fn untouched(app: &TestApp, target: &User) {
    let now = app.store.find_user(target.id).await.expect("find").expect("user");
    assert!(!now.disabled && !now.mfa_required, "nothing changed: {now:?}");
    let events = app.store.recent_audit(200).await.expect("audit");
    assert!(events.iter().all(|e| e.event.detail.get("actor").is_none()), "no console action was audited");
}

/// [`CLIENT`] is there as it was registered, and no other client was.
async fn client_untouched(app: &TestApp) {
    let clients = app.store.list_clients().await.expect("clients");
    assert_eq!(clients.len(), 1, "no client registered: {clients:?}");
    let client = &clients[0];
    assert!(client.client_id == CLIENT && !client.disabled, "{client:?}");
    let secret = portcullis_protocol::ClientSecretHash::of(&portcullis_tests::oidc::client_secret(CLIENT));
    assert_eq!(client.client_secret_sha256, Some(secret.to_hex()), "the secret is the same");
    assert_eq!(client.previous_secret_sha256, None);
}

async fn every_route_refuses_whoever_may_not_use_the_console(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let second = create_user(&app, "second", &["admin"]).await;
    let third = create_user(&app, "third", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential(CLIENT, "https://rp.example/cb")).await;
    assert!(admin_routes().len() >= 16, "{:?}", admin_routes());

    // Nobody signed in, and a signed-in user without the role: 404 everywhere.
    let anonymous = Browser::new(&app);
    let page = anonymous.get("/login").await.text().await.expect("login");
    let anon_csrf = hidden(&page, "csrf_token").expect("csrf");
    for (method, url, status, _) in walk(&anonymous, &alice, &anon_csrf).await {
        assert_eq!(status, 404, "anonymous {method} {url}");
    }
    let user = Browser::new(&app);
    assert_eq!(password_sign_in(&user, "alice", &[]).await.status(), 303);
    let csrf =
        hidden(&user.get("/account").await.text().await.expect("account"), "csrf_token").expect("csrf");
    for (method, url, status, _) in walk(&user, &alice, &csrf).await {
        assert_eq!(status, 404, "non-admin {method} {url}");
    }

    // An admin whose sign-in has no second factor yet: enroll first.
    let half = Browser::new(&app);
    assert_eq!(password_sign_in(&half, "root", &[]).await.status(), 303);
    let csrf =
        hidden(&half.get("/account").await.text().await.expect("account"), "csrf_token").expect("csrf");
    for (method, url, status, location) in walk(&half, &alice, &csrf).await {
        assert_eq!((status, location.as_str()), (303, "/account?enroll=required"), "{method} {url}");
    }
    untouched(&app, &alice).await;
    client_untouched(&app).await;

    // A full admin session: every GET opens; 6 minutes on, reading still
    // works but every change asks to sign in again; 16 minutes on, nothing.
    let admin = admin_browser(&app, "root").await;
    let csrf = console_csrf(&admin).await;
    app.clock.advance(Duration::minutes(6));
    for (method, url, status, location) in walk(&admin, &alice, &csrf).await {
        match method.as_str() {
            "GET" => assert_eq!(status, 200, "{method} {url}"),
            _ => assert_eq!((status, location.as_str()), (303, "/login?return=/admin"), "{method} {url}"),
        }
    }
    untouched(&app, &alice).await;
    client_untouched(&app).await;
    app.clock.advance(Duration::minutes(10));
    for (method, url, status, location) in walk(&admin, &alice, &csrf).await {
        assert_eq!((status, location.as_str()), (303, "/login?return=/admin"), "stale {method} {url}");
    }
    untouched(&app, &alice).await;
    client_untouched(&app).await;

    // A fresh admin whose role is removed mid-session, and one disabled
    // mid-session: out at once, 404 everywhere.
    let demoted = admin_browser(&app, "second").await;
    let csrf = console_csrf(&demoted).await;
    app.store.set_roles(second.id, &[], app.clock.now(), &Effects::default()).await.expect("demote");
    for (method, url, status, _) in walk(&demoted, &alice, &csrf).await {
        assert_eq!(status, 404, "demoted {method} {url}");
    }
    let disabled = admin_browser(&app, "third").await;
    let csrf = console_csrf(&disabled).await;
    app.store.disable_user(third.id, app.clock.now(), &Effects::default()).await.expect("disable");
    for (method, url, status, _) in walk(&disabled, &alice, &csrf).await {
        assert_eq!(status, 404, "disabled {method} {url}");
    }
    untouched(&app, &alice).await;
    client_untouched(&app).await;
}

async fn a_change_needs_the_csrf_token_and_is_audited_with_its_admin(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let root = create_user(&app, "root", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    let admin = admin_browser(&app, "root").await;
    let csrf = console_csrf(&admin).await;
    let disable = format!("/admin/users/{}/disable", alice.id);

    for form in [vec![], vec![("csrf_token", "wrong")]] {
        let res = admin.post(&disable, &form).await;
        assert_eq!(res.status(), 403, "{form:?}");
    }
    untouched(&app, &alice).await;

    let res = admin.post(&disable, &[("csrf_token", &csrf)]).await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(location, format!("/admin/users/{}?done=disabled", alice.id));
    let page = admin.get(&location).await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.expect("body");
    assert!(html.contains("id=\"user-status\">Disabled"), "{html}");
    assert!(app.store.find_user(alice.id).await.expect("find").expect("alice").disabled);
    let event = app
        .store
        .recent_audit(20)
        .await
        .expect("audit")
        .into_iter()
        .find(|e| e.event.kind == "user.disabled");
    let event = event.expect("the change is audited").event;
    assert_eq!(event.user_id, Some(alice.id));
    assert_eq!(event.detail["actor"], root.id.to_string());

    // Not on oneself: another administrator must.
    let own = admin.post(&format!("/admin/users/{}/disable", root.id), &[("csrf_token", &csrf)]).await;
    assert_eq!(own.status(), 400);
    assert!(!app.store.find_user(root.id).await.expect("find").expect("root").disabled);
    // An unknown user: 404.
    let unknown =
        admin.post(&format!("/admin/users/{}/enable", uuid::Uuid::new_v4()), &[("csrf_token", &csrf)]).await;
    assert_eq!(unknown.status(), 404);
}

both_backends!(
    every_route_refuses_whoever_may_not_use_the_console,
    a_change_needs_the_csrf_token_and_is_audited_with_its_admin,
);
