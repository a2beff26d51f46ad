//! The first administrator: a one-time link, valid one hour, single use.

use portcullis_store::ROLE_ADMIN;
use portcullis_tests::{Backend, TestDatabase, both_backends, spawn_app, spawn_app_with};
use std::sync::Arc;
use time::Duration;

use super::{PASSWORD, create_user, csrf_token, post_form, set_cookie, sign_in};

/// Opens the setup page: (cookie, csrf token, setup token).
async fn open_setup(app: &portcullis_tests::TestApp) -> (String, String, String) {
    let path = app.setup_path.clone().expect("a setup link at first start");
    let res = app.get(&path).await;
    assert_eq!(res.status(), 200);
    let (cookie, _) = set_cookie(&res).expect("session");
    let html = res.text().await.expect("body");
    (cookie, csrf_token(&html), path.split("token=").nth(1).expect("token").to_owned())
}

async fn submit(app: &portcullis_tests::TestApp, password: &str, confirm: &str) -> reqwest::Response {
    let (cookie, csrf, token) = open_setup(app).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("token", token.as_str()),
        ("username", "root"),
        ("email", "root@example.com"),
        ("password", password),
        ("password_confirm", confirm),
    ];
    post_form(app, "/setup", Some(&cookie), &form).await
}

async fn the_setup_link_creates_an_admin_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = app.setup_path.clone().expect("a setup link");
    assert!(path.starts_with("/setup?token="), "{path}");

    let res = submit(&app, PASSWORD, PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?setup=done");
    let admin = app.store.find_user_by_login("root").await.expect("find").expect("created");
    assert!(admin.has_role(ROLE_ADMIN));
    assert_eq!(admin.email, "root@example.com");
    assert_eq!(sign_in(&app, "root", PASSWORD).await.status(), 303);
    let audit = app.store.recent_audit(20).await.expect("audit");
    assert!(audit.iter().any(|e| e.event.kind == "user.created" && e.event.user_id == Some(admin.id)));

    // Single use.
    let again = app.get(&path).await;
    assert_eq!(again.status(), 403);
    assert!(again.text().await.expect("body").contains("Setup link not valid"));
}

async fn the_setup_link_expires_after_an_hour(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = app.setup_path.clone().expect("a setup link");
    app.clock.advance(Duration::minutes(59));
    assert_eq!(app.get(&path).await.status(), 200);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.get(&path).await.status(), 403);
    assert_eq!(app.get("/setup?token=nonsense").await.status(), 403);
    assert_eq!(app.get("/setup").await.status(), 403);
}

async fn the_setup_form_applies_the_password_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = submit(&app, "root", "root").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.expect("body").contains("at least 8 characters"));
    let res = submit(&app, "root@example.com", "root@example.com").await;
    assert!(res.text().await.expect("body").contains("must not be your username or email"));
    let res = submit(&app, PASSWORD, "something else").await;
    assert!(res.text().await.expect("body").contains("The two passwords differ."));
    assert_eq!(app.store.count_users().await.expect("count"), 0);
    // The link still works after refused attempts.
    assert_eq!(submit(&app, PASSWORD, PASSWORD).await.status(), 303);
}

async fn no_setup_link_once_a_user_exists(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let first = spawn_app_with(db.clone(), |_| {}).await;
    let path = first.setup_path.clone().expect("a setup link");
    create_user(&first, "alice", true).await;
    assert_eq!(first.get(&path).await.status(), 403, "the link dies once a user exists");
    first.stop().await;

    let second = spawn_app_with(db, |_| {}).await;
    assert_eq!(second.setup_path, None);
}

both_backends!(
    the_setup_link_creates_an_admin_once,
    the_setup_link_expires_after_an_hour,
    the_setup_form_applies_the_password_policy,
    no_setup_link_once_a_user_exists,
);
