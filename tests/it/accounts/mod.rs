//! Accounts, password sign-in, sessions, CSRF, pages and the first admin.
//! Every HTTP-level test runs on both backends.

mod browser;
mod csrf;
mod effects;
mod pages;
pub(crate) mod repos;
mod security;
mod sessions;
mod setup;
mod signin;

use portcullis_authn::{Argon2Cost, Password, PasswordHasher};
use portcullis_store::{NewUser, ROLE_ADMIN, Session, User};
use portcullis_tests::TestApp;
use sha2::{Digest, Sha256};

pub(crate) const COOKIE: &str = "__Host-portcullis_session";
pub(crate) const PASSWORD: &str = "correct horse battery";

/// A user created straight in the store, hashed with the test parameters.
pub(crate) async fn create_user(app: &TestApp, username: &str, admin: bool) -> User {
    let cost = Argon2Cost {
        memory_kib: app.settings.auth.argon2_memory_kib,
        iterations: app.settings.auth.argon2_iterations,
        parallelism: app.settings.auth.argon2_parallelism,
    };
    let hasher = PasswordHasher::new(cost).expect("hasher");
    let hash = hasher.hash(&Password::new(PASSWORD)).expect("hash");
    let roles = if admin { vec![ROLE_ADMIN.to_owned()] } else { Vec::new() };
    app.store
        .create_user(&NewUser {
            id: uuid::Uuid::new_v4(),
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            email_verified: false,
            display_name: None,
            roles,
            password_hash: Some(hash),
            created_at: app.clock_now(),
        })
        .await
        .expect("create user")
}

trait ClockNow {
    fn clock_now(&self) -> time::OffsetDateTime;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> time::OffsetDateTime {
        use portcullis_core::Clock;
        self.clock.now()
    }
}

/// The session cookie a response sets: (value, the whole Set-Cookie line).
pub(crate) fn set_cookie(res: &reqwest::Response) -> Option<(String, String)> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        let value = line.strip_prefix(&format!("{COOKIE}="))?.split(';').next()?.to_owned();
        Some((value, line.to_owned()))
    })
}

/// The CSRF token in a page's form.
pub(crate) fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no CSRF token in:\n{html}")) + marker.len();
    html[start..].split('"').next().expect("token").to_owned()
}

/// The stored row of a cookie value.
pub(crate) async fn session_row(app: &TestApp, cookie: &str) -> Option<Session> {
    let hash = hex::encode(Sha256::digest(cookie.as_bytes()));
    app.store.find_session(&hash).await.expect("find session")
}

/// `GET path` with the session cookie.
pub(crate) async fn get_with(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .header("cookie", format!("{COOKIE}={cookie}"))
        .send()
        .await
        .expect("request")
}

/// `POST path` with a form, and the session cookie when given.
pub(crate) async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req =
        app.client.post(format!("{}{path}", app.address)).form(form).header("user-agent", "it-tests/1.0");
    if let Some(cookie) = cookie {
        req = req.header("cookie", format!("{COOKIE}={cookie}"));
    }
    req.send().await.expect("request")
}

/// Opens the sign-in page: (anonymous session cookie, CSRF token).
pub(crate) async fn open_login(app: &TestApp) -> (String, String) {
    let res = app.get("/login").await;
    assert_eq!(res.status(), 200);
    let (cookie, _) = set_cookie(&res).expect("the sign-in page sets a session cookie");
    let token = csrf_token(&res.text().await.expect("body"));
    (cookie, token)
}

/// Opens the sign-in page and submits it.
pub(crate) async fn sign_in(app: &TestApp, login: &str, password: &str) -> reqwest::Response {
    let (cookie, token) = open_login(app).await;
    post_form(
        app,
        "/login",
        Some(&cookie),
        &[("csrf_token", &token), ("username", login), ("password", password)],
    )
    .await
}

/// Signs in and returns the new session cookie.
pub(crate) async fn signed_in(app: &TestApp, login: &str) -> String {
    let res = sign_in(app, login, PASSWORD).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    set_cookie(&res).expect("a new session cookie").0
}

/// How many argon2 computations the app has run (its histogram's count).
pub(crate) async fn argon2_runs(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    text.lines()
        .find_map(|l| l.strip_prefix("portcullis_password_hash_duration_seconds_count "))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

/// Row counts of every table a sign-in, sign-out or setup could change.
pub(crate) async fn state_counts(app: &TestApp) -> [i64; 5] {
    [
        app.db.count("SELECT * FROM users").await,
        app.db.count("SELECT * FROM sessions").await,
        app.db.count("SELECT * FROM rate_limits").await,
        app.db.count("SELECT * FROM audit_events").await,
        app.db.count("SELECT * FROM setup_tokens").await,
    ]
}
