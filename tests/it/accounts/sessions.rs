//! Acceptance 4: a new session id at sign-in, the old one dead, exact cookie
//! attributes; sign-out and timeouts end sessions server-side.

use portcullis_tests::{Backend, both_backends, spawn_app};
use time::Duration;

use super::{
    COOKIE, PASSWORD, create_user, csrf_token, get_with, open_login, post_form, session_row, set_cookie,
    signed_in,
};

/// The attributes of a Set-Cookie line, lowercased names, sorted.
fn attributes(line: &str) -> Vec<String> {
    let mut attrs: Vec<String> = line.split(';').skip(1).map(|a| a.trim().to_owned()).collect();
    attrs.sort();
    attrs
}

const EXACT: [&str; 4] = ["HttpOnly", "Path=/", "SameSite=Lax", "Secure"];

async fn sign_in_issues_a_new_session_and_the_old_one_no_longer_authenticates(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = create_user(&app, "alice", false).await;

    let login = app.get("/login").await;
    let (before, line) = set_cookie(&login).expect("pre-login cookie");
    assert_eq!(attributes(&line), EXACT, "{line}");
    assert!(line.starts_with(&format!("{COOKIE}=")));
    assert_eq!(before.len(), 64, "256 bits, hex");
    let token = csrf_token(&login.text().await.expect("body"));

    let res = post_form(
        &app,
        "/login",
        Some(&before),
        &[("csrf_token", &token), ("username", "alice"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (after, line) = set_cookie(&res).expect("a new cookie at sign-in");
    assert_eq!(attributes(&line), EXACT, "{line}");
    assert_ne!(after, before, "the session id must change at sign-in");
    assert_eq!(after.len(), 64);

    let landing = get_with(&app, "/", &after).await.text().await.expect("body");
    assert!(landing.contains("Signed in as <strong>alice</strong>"), "{landing}");
    let old = get_with(&app, "/", &before).await.text().await.expect("body");
    assert!(!old.contains("Signed in as"), "the pre-login cookie must not authenticate");
    assert!(session_row(&app, &before).await.is_none(), "the pre-login row is gone");

    let row = session_row(&app, &after).await.expect("the session is stored by its hash");
    assert_eq!(row.user_id, Some(alice.id));
    assert_eq!(row.amr, vec!["pwd".to_owned()]);
    assert_eq!(row.auth_time, Some(time::macros::datetime!(2026-01-01 09:00 UTC)));
    assert_eq!(row.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(row.user_agent.as_deref(), Some("it-tests/1.0"));
    assert_eq!(
        app.db.count(&format!("SELECT * FROM sessions WHERE id_hash = '{after}'")).await,
        0,
        "never stored raw"
    );
}

async fn sign_out_deletes_the_session_server_side(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = create_user(&app, "alice", false).await;
    let cookie = signed_in(&app, "alice").await;

    let confirm = get_with(&app, "/logout", &cookie).await;
    assert_eq!(confirm.status(), 200);
    let token = csrf_token(&confirm.text().await.expect("body"));
    let res = post_form(&app, "/logout", Some(&cookie), &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    let (cleared, _) = set_cookie(&res).expect("the cookie is cleared");
    assert_eq!(cleared, "");

    assert!(session_row(&app, &cookie).await.is_none());
    let landing = get_with(&app, "/", &cookie).await.text().await.expect("body");
    assert!(landing.contains("href=\"/login\""), "{landing}");
    let audit = app.store.recent_audit(5).await.expect("audit");
    assert!(audit.iter().any(|e| e.event.kind == "signout" && e.event.user_id == Some(alice.id)));
}

async fn idle_and_absolute_timeouts_end_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    create_user(&app, "alice", false).await;
    let idle = i64::from(app.settings.auth.session_idle_timeout_secs);

    let cookie = signed_in(&app, "alice").await;
    app.clock.advance(Duration::seconds(idle - 1));
    assert!(get_with(&app, "/", &cookie).await.text().await.expect("body").contains("Signed in as"));
    app.clock.advance(Duration::seconds(idle));
    assert!(!get_with(&app, "/", &cookie).await.text().await.expect("body").contains("Signed in as"));
    assert!(session_row(&app, &cookie).await.is_none(), "an expired session is deleted");

    // Busy, but past the absolute limit.
    let cookie = signed_in(&app, "alice").await;
    let absolute = i64::from(app.settings.auth.session_absolute_timeout_secs);
    let mut elapsed = 0;
    while elapsed + idle / 2 < absolute {
        app.clock.advance(Duration::seconds(idle / 2));
        elapsed += idle / 2;
        assert!(get_with(&app, "/", &cookie).await.text().await.expect("body").contains("Signed in as"));
    }
    app.clock.advance(Duration::seconds(absolute - elapsed));
    assert!(!get_with(&app, "/", &cookie).await.text().await.expect("body").contains("Signed in as"));
}

async fn disabling_a_user_ends_their_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = create_user(&app, "alice", false).await;
    let cookie = signed_in(&app, "alice").await;
    let (anonymous, _) = open_login(&app).await;

    let accounts = app.accounts();
    let (user, ended) =
        accounts.disable("alice", &portcullis_authn::RequestInfo::default()).await.expect("disable");
    assert_eq!((user.id, ended.sessions), (alice.id, 1));

    assert!(!get_with(&app, "/", &cookie).await.text().await.expect("body").contains("Signed in as"));
    assert!(session_row(&app, &cookie).await.is_none());
    assert!(session_row(&app, &anonymous).await.is_some(), "other sessions stay");
    let audit = app.store.recent_audit(5).await.expect("audit");
    assert!(audit.iter().any(|e| e.event.kind == "user.disabled" && e.event.user_id == Some(alice.id)));
}

async fn the_sweeper_deletes_abandoned_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    create_user(&app, "alice", false).await;
    let signed = signed_in(&app, "alice").await;
    for _ in 0..3 {
        open_login(&app).await;
    }
    assert_eq!(app.db.count("SELECT * FROM sessions").await, 4);
    let now = || portcullis_core::Clock::now(&app.clock);
    let swept =
        portcullis_server::sweep_expired(app.store.as_ref(), now(), &app.settings.auth).await.expect("sweep");
    assert_eq!(swept, portcullis_server::Swept::default());

    app.clock.advance(Duration::seconds(i64::from(app.settings.auth.session_idle_timeout_secs)));
    let swept =
        portcullis_server::sweep_expired(app.store.as_ref(), now(), &app.settings.auth).await.expect("sweep");
    assert_eq!(swept.sessions, 4);
    assert!(session_row(&app, &signed).await.is_none());
}

both_backends!(
    the_sweeper_deletes_abandoned_sessions,
    sign_in_issues_a_new_session_and_the_old_one_no_longer_authenticates,
    sign_out_deletes_the_session_server_side,
    idle_and_absolute_timeouts_end_sessions,
    disabling_a_user_ends_their_sessions,
);
