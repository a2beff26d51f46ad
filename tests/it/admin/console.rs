//! The admin console over HTTP: who may enter (every route, table-driven
//! over `admin_routes()`, so a route added without the gate fails here),
//! CSRF on every change, and what a change does.

use portcullis_core::Clock;
use portcullis_store::{Effects, NewGroup, User};
use portcullis_tests::mfa::{enroll_totp, password_sign_in};
use portcullis_tests::oidc::{Browser, ClientSpec, create_client, create_user, hidden, spawn_oidc_app};
use portcullis_tests::{Backend, TestApp, both_backends};
use portcullis_web::admin_routes;
use time::Duration;

/// The run-time client the client pages are asked about.
const CLIENT: &str = "walked";

/// `path` with its placeholders replaced: `{id}` by `target`'s id on user
/// routes, by [`CLIENT`] on client routes, by the id of the group `ops`
/// (made here once) on group routes; `{user}` by `target`'s id.
async fn concrete(app: &TestApp, path: &str, target: &User) -> String {
    let user = target.id.to_string();
    let id = if path.starts_with("/admin/groups/") {
        let existing = app.store.find_group_by_name("ops").await.expect("find");
        let group = match existing {
            Some(group) => group,
            None => {
                let new =
                    NewGroup { id: uuid::Uuid::new_v4(), name: "ops".into(), created_at: app.clock.now() };
                app.store.create_group(&new, &Effects::default()).await.expect("group")
            }
        };
        group.id.to_string()
    } else if path.starts_with("/admin/clients/") {
        CLIENT.to_owned()
    } else {
        user.clone()
    };
    path.replace("{id}", &id).replace("{user}", &user)
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
async fn walk(
    app: &TestApp,
    browser: &Browser,
    target: &User,
    csrf: &str,
) -> Vec<(String, String, u16, String)> {
    let mut seen = Vec::new();
    for (method, path) in admin_routes() {
        let url = concrete(app, path, target).await;
        let res = match method {
            "GET" => browser.get(&url).await,
            // What each form would change, were it accepted (a client
            // deletion's typed id too).
            _ => {
                let form = [
                    ("csrf_token", csrf),
                    ("required", "on"),
                    ("roles", "admin"),
                    ("name", "renamed"),
                    ("login", "alice"),
                    ("confirm", CLIENT),
                ];
                browser.post(&url, &form).await
            }
        };
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        seen.push((method.to_owned(), url, res.status().as_u16(), location));
    }
    seen
}

/// Nothing about `target` changed: enabled, no second factor required, no
/// role, no group, no audit of the console.
async fn untouched(app: &TestApp, target: &User) {
    untouched_with_groups(app, target, &["ops"]).await;
}

/// [`untouched`], with the groups that exist.
async fn untouched_with_groups(app: &TestApp, target: &User, expected: &[&str]) {
    let now = app.store.find_user(target.id).await.expect("find").expect("user");
    assert!(!now.disabled && !now.mfa_required && now.roles.is_empty(), "nothing changed: {now:?}");
    assert_eq!(app.store.user_groups(target.id).await.expect("groups"), Vec::<String>::new());
    let groups: Vec<String> =
        app.store.list_groups().await.expect("groups").into_iter().map(|g| g.name).collect();
    assert_eq!(groups, expected, "no group created, renamed or deleted");
    let events = app.store.recent_audit(200).await.expect("audit");
    let changes = |e: &&portcullis_store::AuditEvent| e.event.kind != "audit.exported";
    assert!(
        events.iter().filter(changes).all(|e| e.event.detail.get("actor").is_none()),
        "no console change was audited"
    );
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
    for (method, url, status, _) in walk(&app, &anonymous, &alice, &anon_csrf).await {
        assert_eq!(status, 404, "anonymous {method} {url}");
    }
    let user = Browser::new(&app);
    assert_eq!(password_sign_in(&user, "alice", &[]).await.status(), 303);
    let csrf =
        hidden(&user.get("/account").await.text().await.expect("account"), "csrf_token").expect("csrf");
    for (method, url, status, _) in walk(&app, &user, &alice, &csrf).await {
        assert_eq!(status, 404, "non-admin {method} {url}");
    }

    // An admin whose sign-in has no second factor yet: enroll first.
    let half = Browser::new(&app);
    assert_eq!(password_sign_in(&half, "root", &[]).await.status(), 303);
    let csrf =
        hidden(&half.get("/account").await.text().await.expect("account"), "csrf_token").expect("csrf");
    for (method, url, status, location) in walk(&app, &half, &alice, &csrf).await {
        assert_eq!((status, location.as_str()), (303, "/account?enroll=required"), "{method} {url}");
    }
    untouched(&app, &alice).await;
    client_untouched(&app).await;

    // A full admin session: every GET opens; 6 minutes on, reading still
    // works but every change asks to sign in again; 16 minutes on, nothing.
    let admin = admin_browser(&app, "root").await;
    let csrf = console_csrf(&admin).await;
    app.clock.advance(Duration::minutes(6));
    for (method, url, status, location) in walk(&app, &admin, &alice, &csrf).await {
        match method.as_str() {
            "GET" => assert_eq!(status, 200, "{method} {url}"),
            _ => assert_eq!((status, location.as_str()), (303, "/login?return=/admin"), "{method} {url}"),
        }
    }
    untouched(&app, &alice).await;
    client_untouched(&app).await;
    app.clock.advance(Duration::minutes(10));
    for (method, url, status, location) in walk(&app, &admin, &alice, &csrf).await {
        assert_eq!((status, location.as_str()), (303, "/login?return=/admin"), "stale {method} {url}");
    }
    untouched(&app, &alice).await;
    client_untouched(&app).await;

    // A fresh admin whose role is removed mid-session, and one disabled
    // mid-session: out at once, 404 everywhere.
    let demoted = admin_browser(&app, "second").await;
    let csrf = console_csrf(&demoted).await;
    app.store.set_roles(second.id, &[], app.clock.now(), &Effects::default()).await.expect("demote");
    for (method, url, status, _) in walk(&app, &demoted, &alice, &csrf).await {
        assert_eq!(status, 404, "demoted {method} {url}");
    }
    let disabled = admin_browser(&app, "third").await;
    let csrf = console_csrf(&disabled).await;
    app.store.disable_user(third.id, app.clock.now(), &Effects::default()).await.expect("disable");
    for (method, url, status, _) in walk(&app, &disabled, &alice, &csrf).await {
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
    untouched_with_groups(&app, &alice, &[]).await;

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

/// The text of the element with `id` in `html` (up to its next `<`).
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("#{id} in {html}"));
    let rest = &html[start + id.len() + 6..];
    &rest[..rest.find('<').expect("end")]
}

async fn the_dashboard_and_the_user_pages_show_what_is_stored(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    for n in 0..60 {
        create_user(&app, &format!("user{n:02}"), &[]).await;
    }
    let gone = create_user(&app, "gone", &[]).await;
    app.store.disable_user(gone.id, app.clock.now(), &Effects::default()).await.expect("disable");
    let admin = admin_browser(&app, "root").await;

    let html = admin.get("/admin").await.text().await.expect("dashboard");
    assert_eq!(text_of(&html, "users-total"), "62");
    assert_eq!(text_of(&html, "users-disabled"), "1");
    // Sixty users without a factor; root enrolled one, the disabled one is not counted.
    assert_eq!(text_of(&html, "users-without-factor"), "60");
    assert_eq!(text_of(&html, "live-sessions"), "1");
    assert_eq!(text_of(&html, "signins"), "1", "root's password step");

    // Pages of 50, then the rest; every user once.
    let first = admin.get("/admin/users").await.text().await.expect("users");
    let rows = |html: &str| html.matches("<td><a href=\"/admin/users/").count();
    assert_eq!(rows(&first), 50);
    let next = between_attr(&first, "next-page");
    let second = admin.get(&next.replace("&#38;", "&")).await.text().await.expect("next page");
    assert_eq!(rows(&second), 12);
    assert!(!second.contains("next-page"));
    // A prefix of the username, the email or the name, any case.
    let found = admin.get("/admin/users?q=USER0").await.text().await.expect("search");
    assert_eq!(rows(&found), 10, "user00 … user09");
    let none = admin.get("/admin/users?q=%25").await.text().await.expect("search");
    assert!(none.contains("id=\"no-users\""), "% is no wildcard");
}

/// The `href` of the link with `id`.
fn between_attr(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\" href=\"")).unwrap_or_else(|| panic!("#{id} in {html}"));
    let rest = &html[start + id.len() + 12..];
    rest[..rest.find('"').expect("end")].to_owned()
}

async fn sessions_end_and_the_audit_log_filters_and_exports(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    let user = Browser::new(&app);
    assert_eq!(password_sign_in(&user, "alice", &[]).await.status(), 303);
    let stranger = Browser::new(&app);
    let login = stranger.get("/login").await.text().await.expect("login");
    let csrf = hidden(&login, "csrf_token").expect("csrf");
    let form = [("csrf_token", csrf.as_str()), ("username", "alice"), ("password", "not her password")];
    assert_eq!(stranger.post("/login", &form).await.status(), 200, "refused");
    let admin = admin_browser(&app, "root").await;

    // Alice's session is listed and ended from the console.
    let html = admin.get("/admin/sessions").await.text().await.expect("sessions");
    assert!(html.contains(">alice</a>") && html.contains(">root</a>"), "{html}");
    let sid = app.store.list_user_sessions(alice.id).await.expect("sessions").remove(0).sid;
    let csrf = hidden(&html, "csrf_token").expect("csrf");
    let ended = admin.post(&format!("/admin/sessions/{sid}/end"), &[("csrf_token", &csrf)]).await;
    assert_eq!(ended.status(), 303);
    assert!(app.store.list_user_sessions(alice.id).await.expect("sessions").is_empty());
    assert_eq!(user.get("/account").await.status(), 303, "alice's browser is signed out");
    let again = admin.post(&format!("/admin/sessions/{sid}/end"), &[("csrf_token", &csrf)]).await;
    assert_eq!(again.status(), 404);

    // The log, filtered: alice's failed attempt only.
    let url = format!("/admin/audit?user={}&kind=signin.&outcome=failure", alice.id);
    let html = admin.get(&url).await.text().await.expect("audit");
    assert_eq!(html.matches("<td>signin.failure</td>").count(), 1, "{html}");
    assert!(!html.contains("<td>signin.success</td>"));
    let ended = admin.get("/admin/audit?kind=session.ended").await.text().await.expect("audit");
    assert!(ended.contains(&format!("&#34;actor&#34;:&#34;{}", admin_id(&app).await)), "{ended}");
    assert_eq!(admin.get("/admin/audit?outcome=maybe").await.status(), 400);

    // The export: JSON Lines of exactly the filtered events, audited.
    let res = admin.get(&format!("/admin/audit/export?user={}", alice.id)).await;
    let status = res.status();
    if status != 200 {
        panic!("export: {status} {}", res.text().await.expect("body"));
    }
    assert_eq!(res.headers()["content-type"], "application/jsonl");
    let body = res.text().await.expect("body");
    let lines: Vec<serde_json::Value> =
        body.lines().map(|l| serde_json::from_str(l).expect("a JSON object per line")).collect();
    assert!(lines.len() >= 3, "sign-in, failure, session ended: {body}");
    assert!(lines.iter().all(|l| l["user_id"] == alice.id.to_string()), "{body}");
    let exported = app.store.recent_audit(5).await.expect("audit");
    assert!(
        exported.iter().any(|e| e.event.kind == "audit.exported" && e.event.detail["events"] == lines.len())
    );
}

async fn admin_id(app: &TestApp) -> String {
    app.store.find_user_by_login("root").await.expect("find").expect("root").id.to_string()
}

async fn a_user_is_edited_sent_a_reset_and_deleted_on_typed_confirmation(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_user(&app, "bob", &[]).await;
    let admin = admin_browser(&app, "root").await;
    let csrf = console_csrf(&admin).await;
    let page = |path: &str| format!("/admin/users/{}/{path}", alice.id);

    // Profile: a new address is unverified; another account's is refused.
    let form =
        [("csrf_token", csrf.as_str()), ("name", "Alice Liddell"), ("email", "alice@wonderland.example")];
    assert_eq!(admin.post(&page("profile"), &form).await.status(), 303);
    let now = app.store.find_user(alice.id).await.expect("find").expect("alice");
    assert_eq!(
        (now.display_name.as_deref(), now.email.as_str()),
        (Some("Alice Liddell"), "alice@wonderland.example")
    );
    assert!(!now.email_verified && now.security_stamp != alice.security_stamp, "unverified, links dead");
    let taken = [("csrf_token", csrf.as_str()), ("name", ""), ("email", "BOB@example.com")];
    assert_eq!(admin.post(&page("profile"), &taken).await.status(), 400);
    assert_eq!(
        app.store.find_user(alice.id).await.expect("find").expect("alice").email,
        "alice@wonderland.example"
    );

    // A reset link goes out through the usual queue, audited with the admin.
    assert_eq!(admin.post(&page("send-reset"), &[("csrf_token", &csrf)]).await.status(), 303);
    let events = app.store.recent_audit(10).await.expect("audit");
    assert!(
        events.iter().any(|e| e.event.kind == "user.reset_sent" && e.event.detail.get("actor").is_some())
    );

    // Delete: only the exact username confirms.
    for typed in ["", "Alice", "alice "] {
        let res = admin.post(&page("delete"), &[("csrf_token", &csrf), ("confirm", typed)]).await;
        assert_eq!(res.status(), 400, "{typed:?}");
        assert!(app.store.find_user(alice.id).await.expect("find").is_some(), "{typed:?} deletes nothing");
    }
    let res = admin.post(&page("delete"), &[("csrf_token", &csrf), ("confirm", "alice")]).await;
    assert_eq!(res.status(), 303);
    assert!(app.store.find_user(alice.id).await.expect("find").is_none());
    let filter = portcullis_store::AuditFilter { user_id: Some(alice.id), limit: 50, ..Default::default() };
    let kept: Vec<String> =
        app.store.query_audit(&filter).await.expect("audit").into_iter().map(|e| e.event.kind).collect();
    assert!(
        kept.contains(&"user.deleted".to_owned()) && kept.contains(&"user.profile_changed".to_owned()),
        "{kept:?}"
    );
    assert_eq!(admin.get(&format!("/admin/users/{}", alice.id)).await.status(), 404);
}

async fn keys_rotate_now_and_revoke_on_typed_confirmation(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let admin = admin_browser(&app, "root").await;
    let html = admin.get("/admin/keys").await.text().await.expect("keys page");
    let csrf = hidden(&html, "csrf_token").expect("csrf");
    let jwks = || async {
        let body: serde_json::Value = app.get("/jwks").await.json().await.expect("jwks");
        body["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect::<Vec<_>>()
    };
    let active = |keys: &[portcullis_store::SigningKeyRow]| {
        keys.iter()
            .find(|k| k.alg == "ES256" && k.state == portcullis_store::SigningKeyState::Active)
            .map(|k| k.kid.clone())
            .expect("an active ES256 key")
    };
    let before = active(&app.store.signing_keys().await.expect("keys"));
    assert!(html.contains(&before), "{html}");

    let res = admin.post("/admin/keys/rotate", &[("csrf_token", csrf.as_str()), ("alg", "ES256")]).await;
    assert_eq!(res.status(), 303);
    let after = active(&app.store.signing_keys().await.expect("keys"));
    assert_ne!(after, before, "a new key signs");
    let published = jwks().await;
    assert!(
        published.contains(&after) && published.contains(&before),
        "the old key still verifies: {published:?}"
    );

    let wrong = admin
        .post(&format!("/admin/keys/{before}/revoke"), &[("csrf_token", csrf.as_str()), ("confirm", "yes")])
        .await;
    assert_eq!(wrong.status(), 400);
    assert!(jwks().await.contains(&before), "nothing revoked");
    let res = admin
        .post(&format!("/admin/keys/{before}/revoke"), &[("csrf_token", csrf.as_str()), ("confirm", &before)])
        .await;
    assert_eq!(res.status(), 303);
    assert!(!jwks().await.contains(&before), "revoked: out of the JWKS");
    let events = app.store.recent_audit(20).await.expect("audit");
    for kind in ["signing_key.rotated", "signing_key.revoked_by_admin"] {
        let event = events.iter().find(|e| e.event.kind == kind).unwrap_or_else(|| panic!("{kind} audited"));
        assert_eq!(event.event.detail["actor"], admin_id(&app).await);
    }
}

both_backends!(
    keys_rotate_now_and_revoke_on_typed_confirmation,
    a_user_is_edited_sent_a_reset_and_deleted_on_typed_confirmation,
    the_dashboard_and_the_user_pages_show_what_is_stored,
    sessions_end_and_the_audit_log_filters_and_exports,
);
