//! The admin REST API (`/admin/api/v1`): who may call it (table-driven over
//! `admin_api_routes()`, so a route added without the gate fails here),
//! CSRF for session callers, `ETag`/`If-Match` between two administrators,
//! and provisioning a user, a group and a client through the API only,
//! then a login with them.

use portcullis_core::Clock;
use portcullis_protocol::GrantType;
use portcullis_store::{Effects, NewGroup, User};
use portcullis_tests::mfa::password_sign_in;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, PASSWORD, create_client, create_user, pkce, spawn_oidc_app,
    token_request,
};
use portcullis_tests::{Backend, TestApp, both_backends};
use portcullis_web::admin_api_routes;
use serde_json::{Value, json};
use time::Duration;

use super::console::{admin_browser, console_csrf};
use crate::recovery::{mail_app, open, submit};

const BOT: &str = "ops-bot";
const CB: &str = "http://127.0.0.1:9/cb";

/// Who calls.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    None,
    Bearer(&'a str),
    /// A browser's session, with the CSRF header or without.
    Session(&'a Browser, Option<&'a str>),
}

/// One API call: (status, ETag, JSON body or Null).
pub(crate) async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Option<String>, Value, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = app.client.request(method, format!("{}/admin/api/v1{path}", app.address));
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => req = req.bearer_auth(token),
        Auth::Session(browser, csrf) => {
            let cookie = browser.session_cookie().expect("a session");
            req = req.header("cookie", format!("__Host-portcullis_session={cookie}"));
            if let Some(csrf) = csrf {
                req = req.header("x-csrf-token", csrf);
            }
        }
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let etag = res.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type =
        res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = res.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, etag, json, content_type)
}

/// An `admin_api` client that may use client_credentials.
pub(crate) fn machine(id: &str, admin_api: bool) -> ClientSpec {
    let mut spec = ClientSpec::confidential(id, CB);
    spec.grants = vec![GrantType::ClientCredentials];
    spec.scopes = "api admin".into();
    spec.admin_api = admin_api;
    spec
}

/// An access token of `client` for `scope`.
pub(crate) async fn token(app: &TestApp, client: &str, scope: &str) -> String {
    let res = token_request(app, client, &[("grant_type", "client_credentials"), ("scope", scope)]).await;
    assert_eq!(res.status(), 200, "a token for {client}");
    let body: Value = res.json().await.expect("json");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// Every API route with real ids: (method, path below the base).
async fn concrete(app: &TestApp, target: &User) -> Vec<(String, String)> {
    let group = NewGroup { id: uuid::Uuid::new_v4(), name: "ops".into(), created_at: app.clock.now() };
    let group = app.store.create_group(&group, &Effects::default()).await.expect("group");
    let kid = app.store.signing_keys().await.expect("keys")[0].kid.clone();
    admin_api_routes()
        .into_iter()
        .map(|(method, path)| {
            let path = path.trim_start_matches("/admin/api/v1");
            let id = if path.starts_with("/groups/") {
                group.id.to_string()
            } else if path.starts_with("/clients/") {
                BOT.to_owned()
            } else {
                target.id.to_string()
            };
            let path = path
                .replace("{id}", &id)
                .replace("{user_id}", &target.id.to_string())
                .replace("{client_id}", BOT)
                .replace("{sid}", "no-such-session")
                .replace("{kid}", &kid);
            (method.to_owned(), path)
        })
        .collect()
}

/// The body each change would send, were it accepted.
fn body_for(method: &str, path: &str) -> Option<Value> {
    (method != "GET" && method != "DELETE").then(|| {
        if path == "/users" {
            json!({ "username": "mallory", "email": "mallory@example.com" })
        } else if path.starts_with("/groups") {
            json!({ "name": "renamed" })
        } else if path.ends_with("second-factor-required") {
            json!({ "required": true })
        } else {
            json!({})
        }
    })
}

/// Calls every route as `auth`; returns (method, path, status, code).
async fn walk(
    app: &TestApp,
    routes: &[(String, String)],
    auth: Auth<'_>,
) -> Vec<(String, String, u16, String)> {
    let mut seen = Vec::new();
    for (method, path) in routes {
        let (status, _, body, content_type) =
            call(app, method, path, auth, &[("if-match", "\"x\"")], body_for(method, path)).await;
        if status >= 400 {
            assert_eq!(content_type, "application/problem+json", "{method} {path}: a problem");
        }
        let code = body["code"].as_str().unwrap_or_default().to_owned();
        seen.push((method.clone(), path.clone(), status, code));
    }
    seen
}

/// Nothing changed: alice as created, the group and client as they were,
/// no admin change audited, no user added.
async fn untouched(app: &TestApp, alice: &User) {
    let now = app.store.find_user(alice.id).await.expect("find").expect("alice");
    assert!(!now.disabled && !now.mfa_required && now.roles.is_empty(), "{now:?}");
    assert_eq!(app.store.user_groups(alice.id).await.expect("groups"), Vec::<String>::new());
    let groups: Vec<String> =
        app.store.list_groups().await.expect("groups").into_iter().map(|g| g.name).collect();
    assert_eq!(groups, ["ops"]);
    assert!(app.store.find_user_by_login("mallory").await.expect("find").is_none());
    let bot = app.store.find_client(BOT).await.expect("find").expect("bot");
    assert!(!bot.disabled && bot.previous_secret_sha256.is_none(), "{bot:?}");
    let events = app.store.recent_audit(500).await.expect("audit");
    assert!(events.iter().all(|e| e.event.detail.get("actor").is_none()), "no admin change was audited");
}

async fn every_api_route_refuses_whoever_may_not_use_it(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let second = create_user(&app, "second", &["admin"]).await;
    let third = create_user(&app, "third", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_client(&app, machine(BOT, true)).await;
    create_client(&app, machine("plain", false)).await;
    let routes = concrete(&app, &alice).await;
    assert!(routes.len() >= 30, "{routes:?}");

    for (method, path, status, code) in walk(&app, &routes, Auth::None).await {
        assert_eq!((status, code.as_str()), (401, "invalid_token"), "anonymous {method} {path}");
    }
    for (method, path, status, _) in walk(&app, &routes, Auth::Bearer("not.a.token")).await {
        assert_eq!(status, 401, "garbage token {method} {path}");
    }
    // A valid token without the admin scope.
    let plain = token(&app, "plain", "api").await;
    for (method, path, status, code) in walk(&app, &routes, Auth::Bearer(&plain)).await {
        assert_eq!((status, code.as_str()), (403, "insufficient_scope"), "plain client {method} {path}");
    }
    // A signed-in user without the role: the API does not exist for them.
    let user = Browser::new(&app);
    assert_eq!(password_sign_in(&user, "alice", &[]).await.status(), 303);
    for (method, path, status, _) in walk(&app, &routes, Auth::Session(&user, None)).await {
        assert_eq!(status, 404, "non-admin {method} {path}");
    }
    // An admin without a second factor yet.
    let half = Browser::new(&app);
    assert_eq!(password_sign_in(&half, "root", &[]).await.status(), 303);
    for (method, path, status, code) in walk(&app, &routes, Auth::Session(&half, None)).await {
        assert_eq!((status, code.as_str()), (403, "second_factor_required"), "{method} {path}");
    }
    untouched(&app, &alice).await;

    // A full admin session 16 minutes on: refused; reading works 6 minutes on
    // (checked by the happy-path tests), changing does not.
    let admin = admin_browser(&app, "root").await;
    let csrf = console_csrf(&admin).await;
    app.clock.advance(Duration::minutes(6));
    for (method, path, status, code) in walk(&app, &routes, Auth::Session(&admin, Some(&csrf))).await {
        if method != "GET" {
            assert_eq!((status, code.as_str()), (403, "reauthentication_required"), "6 min {method} {path}");
        } else {
            assert!(status == 200 || status == 404, "6 min {method} {path}: {status}");
        }
    }
    app.clock.advance(Duration::minutes(10));
    for (method, path, status, code) in walk(&app, &routes, Auth::Session(&admin, Some(&csrf))).await {
        assert_eq!((status, code.as_str()), (403, "reauthentication_required"), "16 min {method} {path}");
    }
    untouched(&app, &alice).await;

    // Demoted and disabled mid-session: out at once.
    let demoted = admin_browser(&app, "second").await;
    let csrf = console_csrf(&demoted).await;
    app.store.set_roles(second.id, &[], app.clock.now(), &Effects::default()).await.expect("demote");
    for (method, path, status, _) in walk(&app, &routes, Auth::Session(&demoted, Some(&csrf))).await {
        assert_eq!(status, 404, "demoted {method} {path}");
    }
    let disabled = admin_browser(&app, "third").await;
    let csrf = console_csrf(&disabled).await;
    app.store.disable_user(third.id, app.clock.now(), &Effects::default()).await.expect("disable");
    // Disabling ended their sessions: no credentials left.
    for (method, path, status, code) in walk(&app, &routes, Auth::Session(&disabled, Some(&csrf))).await {
        assert_eq!((status, code.as_str()), (401, "invalid_token"), "disabled {method} {path}");
    }
    untouched(&app, &alice).await;

    // The admin client's token works until the client is disabled: then
    // the same token is refused everywhere at once.
    let bot = token(&app, BOT, "admin").await;
    let (status, _, body, _) = call(&app, "GET", "/users", Auth::Bearer(&bot), &[], None).await;
    assert_eq!(status, 200, "{body}");
    app.store
        .set_client_disabled(BOT, true, app.clock.now(), &Effects::default())
        .await
        .expect("disable bot");
    for (method, path, status, _) in walk(&app, &routes, Auth::Bearer(&bot)).await {
        assert_eq!(status, 401, "disabled client {method} {path}");
    }
    app.store
        .set_client_disabled(BOT, false, app.clock.now(), &Effects::default())
        .await
        .expect("enable bot");
    untouched(&app, &alice).await;
}

both_backends!(every_api_route_refuses_whoever_may_not_use_it);

async fn a_session_change_needs_the_csrf_header(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_client(&app, machine(BOT, true)).await;
    let routes = concrete(&app, &alice).await;
    let admin = admin_browser(&app, "root").await;
    let csrf = console_csrf(&admin).await;

    let changes: Vec<(String, String)> = routes.iter().filter(|(m, _)| m != "GET").cloned().collect();
    assert!(changes.len() >= 20);
    for (method, path, status, code) in walk(&app, &changes, Auth::Session(&admin, None)).await {
        assert_eq!((status, code.as_str()), (403, "csrf"), "no header: {method} {path}");
    }
    for (method, path, status, code) in walk(&app, &changes, Auth::Session(&admin, Some("wrong"))).await {
        assert_eq!((status, code.as_str()), (403, "csrf"), "wrong header: {method} {path}");
    }
    untouched(&app, &alice).await;

    // With the header, a change goes through and is audited with the admin.
    let new = json!({ "username": "bob", "email": "bob@example.com" });
    let (status, etag, body, _) =
        call(&app, "POST", "/users", Auth::Session(&admin, Some(&csrf)), &[], Some(new)).await;
    assert_eq!(status, 201, "{body}");
    assert!(etag.is_some());
    assert_eq!((body["username"].as_str(), body["disabled"].as_bool()), (Some("bob"), Some(false)));
    let root = app.store.find_user_by_login("root").await.expect("find").expect("root");
    let events = app.store.recent_audit(20).await.expect("audit");
    let created = events.iter().find(|e| e.event.kind == "user.created").expect("audited");
    assert_eq!(created.event.detail["actor"], json!(root.id));
    assert_eq!(created.event.detail["invited"], json!(false));
}

both_backends!(a_session_change_needs_the_csrf_header);

async fn a_stale_etag_is_refused_and_nothing_is_overwritten(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_client(&app, machine(BOT, true)).await;
    create_client(&app, machine("hr-sync", true)).await;
    let (a, b) = (token(&app, BOT, "admin").await, token(&app, "hr-sync", "admin").await);
    let path = format!("/users/{}", alice.id);

    // Both read the same version.
    let (status, first, read, _) = call(&app, "GET", &path, Auth::Bearer(&a), &[], None).await;
    assert_eq!(status, 200, "{read}");
    let first = first.expect("an ETag");
    let (_, also, _, _) = call(&app, "GET", &path, Auth::Bearer(&b), &[], None).await;
    assert_eq!(also.as_deref(), Some(first.as_str()), "the same version, the same tag");

    // Without If-Match: 428, nothing written.
    let change = json!({ "email": "nobody@example.com" });
    let (status, _, body, _) = call(&app, "PATCH", &path, Auth::Bearer(&a), &[], Some(change)).await;
    assert_eq!((status, body["code"].as_str()), (428, Some("precondition_required")));

    // B changes the email first.
    let (status, second, body, _) = call(
        &app,
        "PATCH",
        &path,
        Auth::Bearer(&b),
        &[("if-match", &first)],
        Some(json!({ "email": "b@example.com" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "b@example.com");
    assert_eq!(body["email_verified"], false, "a new address is unverified");
    let second = second.expect("a new ETag");
    assert_ne!(second, first);

    // A, still at the first version: 412, and B's change stands.
    let edit = json!({ "name": "Alice A.", "roles": ["auditor"] });
    let (status, _, body, _) =
        call(&app, "PATCH", &path, Auth::Bearer(&a), &[("if-match", &first)], Some(edit.clone())).await;
    assert_eq!((status, body["code"].as_str()), (412, Some("precondition_failed")), "{body}");
    let stored = app.store.find_user(alice.id).await.expect("find").expect("alice");
    assert_eq!((stored.email.as_str(), &stored.display_name), ("b@example.com", &alice.display_name));
    assert!(stored.roles.is_empty());

    // A reads again and applies its change on the current version.
    let (_, current, _, _) = call(&app, "GET", &path, Auth::Bearer(&a), &[], None).await;
    assert_eq!(current.as_deref(), Some(second.as_str()));
    let (status, third, body, _) =
        call(&app, "PATCH", &path, Auth::Bearer(&a), &[("if-match", &second)], Some(edit)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["name"].as_str(), body["email"].as_str()), (Some("Alice A."), Some("b@example.com")));
    assert_eq!(body["roles"], json!(["auditor"]));
    assert_ne!(third.as_deref(), Some(second.as_str()));
    let events = app.store.recent_audit(20).await.expect("audit");
    let actors: Vec<&Value> =
        events.iter().filter(|e| e.event.kind == "user.edited").map(|e| &e.event.detail["actor"]).collect();
    assert_eq!(actors, [&json!("client:ops-bot"), &json!("client:hr-sync")], "each edit names its client");

    // A group membership change moves the user's version too.
    let (status, _, group, _) =
        call(&app, "POST", "/groups", Auth::Bearer(&a), &[], Some(json!({ "name": "Staff" }))).await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().expect("id").to_owned();
    let (_, group_tag, _, _) =
        call(&app, "GET", &format!("/groups/{gid}"), Auth::Bearer(&a), &[], None).await;
    let member = format!("/groups/{gid}/members/{}", alice.id);
    let (status, _, body, _) = call(&app, "PUT", &member, Auth::Bearer(&b), &[], None).await;
    assert_eq!((status, body["changed"].as_bool()), (200, Some(true)));
    let (_, now, user, _) = call(&app, "GET", &path, Auth::Bearer(&a), &[], None).await;
    assert_ne!(now, third, "the groups changed: a new version");
    assert_eq!(user["groups"], json!(["Staff"]));
    let stale = json!({ "name": "Staff2" });
    let tag = group_tag.expect("group ETag");
    let (status, _, _, _) =
        call(&app, "PATCH", &format!("/groups/{gid}"), Auth::Bearer(&a), &[("if-match", &tag)], Some(stale))
            .await;
    assert_eq!(status, 412, "the group's members changed since its tag");
    let names: Vec<String> =
        app.store.list_groups().await.expect("groups").into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["Staff"], "not renamed");
}

both_backends!(a_stale_etag_is_refused_and_nothing_is_overwritten);

async fn a_user_group_and_client_provisioned_through_the_api_sign_in(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_client(&app, machine(BOT, true)).await;
    let bot = token(&app, BOT, "admin").await;
    let auth = Auth::Bearer(&bot);

    let portal = json!({
        "client_id": "portal",
        "name": "Portal",
        "redirect_uris": [CB],
        "scopes": ["openid", "profile", "email", "groups"],
        "require_consent": false,
    });
    let (status, _, client, _) = call(&app, "POST", "/clients", auth, &[], Some(portal)).await;
    assert_eq!(status, 201, "{client}");
    let secret = client["client_secret"].as_str().expect("the secret, once").to_owned();
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    let (_, _, shown, _) = call(&app, "GET", "/clients/portal", auth, &[], None).await;
    assert!(shown.get("client_secret").is_none(), "never shown again: {shown}");

    let bob =
        json!({ "username": "bob", "email": "bob@example.com", "name": "Bob B.", "send_invitation": true });
    let (status, _, user, _) = call(&app, "POST", "/users", auth, &[], Some(bob)).await;
    assert_eq!(status, 201, "{user}");
    let bob_id = user["id"].as_str().expect("id").to_owned();
    let (status, _, group, _) =
        call(&app, "POST", "/groups", auth, &[], Some(json!({ "name": "Staff" }))).await;
    assert_eq!(status, 201, "{group}");
    let member = format!("/groups/{}/members/{bob_id}", group["id"].as_str().expect("id"));
    assert_eq!(call(&app, "PUT", &member, auth, &[], None).await.0, 200);
    let (status, _, listed, _) = call(&app, "GET", "/users?q=bo&limit=1", auth, &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["groups"], json!(["Staff"]));

    // Bob follows the invitation and chooses his password.
    let mail =
        smtp.wait_for(1).await.into_iter().find(|m| m.to == "bob@example.com").expect("the invitation");
    let link = mail.link("/recover/reset?token=").expect("a link");
    let token_param = link.split("token=").nth(1).expect("token").to_owned();
    let browser = Browser::new(&app);
    let (status, page, csrf) = open(&browser, &link).await;
    assert_eq!(status, 200, "{page}");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("token", &token_param),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    assert_eq!(submit(&browser, "/recover/reset", &form).await.0, 303);

    // Then signs in to the portal, which learns his group.
    let (verifier, challenge) = pkce();
    let url = format!(
        "{}/authorize?client_id=portal&redirect_uri={}&response_type=code&scope=openid%20groups&state=s&code_challenge={challenge}&code_challenge_method=S256",
        app.address,
        url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    let back = Browser::new(&app).authorize(&url, Interact::As("bob")).await.redirect();
    let code = Outcome::param(&back, "code").expect("a code");
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .basic_auth("portal", Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.expect("json");
    let access = tokens["access_token"].as_str().expect("access token");
    let info: Value = app
        .client
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(info["sub"], json!(bob_id));
    assert_eq!(info["groups"], json!(["Staff"]));
}

both_backends!(a_user_group_and_client_provisioned_through_the_api_sign_in);

async fn lists_page_with_an_opaque_cursor(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_client(&app, machine(BOT, true)).await;
    for name in ["ann", "ben", "cat", "dan", "eve"] {
        create_user(&app, name, &[]).await;
    }
    let bot = token(&app, BOT, "admin").await;
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            None => "/users?limit=2".to_owned(),
            Some(cursor) => format!("/users?limit=2&cursor={cursor}"),
        };
        let (status, _, page, _) = call(&app, "GET", &path, Auth::Bearer(&bot), &[], None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["username"].as_str().expect("username").to_owned()));
        // A user added meanwhile before the cursor does not shift the pages.
        if seen.len() == 2 {
            create_user(&app, "aaron", &[]).await;
        }
        match page["next"].as_str() {
            Some(cursor) => next = Some(cursor.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["ann", "ben", "cat", "dan", "eve"]);
    let (status, _, body, _) =
        call(&app, "GET", "/users?cursor=bm90LW91cnM", Auth::Bearer(&bot), &[], None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")));
    let (status, _, _, _) = call(&app, "GET", "/users?limit=0", Auth::Bearer(&bot), &[], None).await;
    assert_eq!(status, 400);
    let (status, _, body, _) = call(&app, "GET", "/audit?outcome=maybe", Auth::Bearer(&bot), &[], None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")));
    let (status, _, body, _) = call(&app, "GET", "/users/not-a-uuid", Auth::Bearer(&bot), &[], None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

both_backends!(lists_page_with_an_opaque_cursor);
