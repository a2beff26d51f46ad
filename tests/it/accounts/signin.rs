//! Acceptance 2 (no user enumeration) and 3 (back-off before hashing).

use portcullis_store::Effects;
use portcullis_tests::{Backend, both_backends, spawn_app};
use time::Duration;

use super::{PASSWORD, argon2_runs, create_user, csrf_token, open_login, post_form, sign_in};

/// Status, headers that matter and body with the CSRF token blanked.
async fn comparable(res: reqwest::Response) -> (u16, Vec<(String, String)>, String) {
    let status = res.status().as_u16();
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "x-request-id" | "date"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
        .collect();
    headers.sort();
    let body = res.text().await.expect("body");
    let token = csrf_token(&body);
    (status, headers, body.replace(&token, "TOKEN"))
}

async fn wrong_password_and_unknown_user_answer_identically(backend: Backend) {
    let app = spawn_app(backend).await;
    create_user(&app, "alice", false).await;

    let before = argon2_runs(&app).await;
    let wrong_password = comparable(sign_in(&app, "alice", "not the password").await).await;
    let after_wrong = argon2_runs(&app).await;
    let unknown_user = comparable(sign_in(&app, "mallory", "not the password").await).await;
    let after_unknown = argon2_runs(&app).await;

    assert_eq!(wrong_password, unknown_user, "the two failures must be indistinguishable");
    assert_eq!(wrong_password.0, 200);
    assert!(wrong_password.2.contains("Wrong username or password."));
    assert_eq!(after_wrong - before, 1, "a wrong password runs exactly one argon2 verification");
    assert_eq!(after_unknown - after_wrong, 1, "an unknown user runs exactly one argon2 verification");
}

async fn failures_back_off_before_hashing_until_the_delay_passes(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = create_user(&app, "alice", false).await;
    let limit = app.settings.auth.max_failures_per_account;
    assert_eq!(limit, 5);

    let start = argon2_runs(&app).await;
    for _ in 0..limit {
        assert_eq!(sign_in(&app, "alice", "wrong password").await.status(), 200);
    }
    assert_eq!(argon2_runs(&app).await - start, u64::from(limit));

    // Refused before hashing, even with the right password.
    let refused = sign_in(&app, "alice", PASSWORD).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "30");
    assert!(refused.text().await.expect("body").contains("Too many failed attempts"));
    assert_eq!(argon2_runs(&app).await - start, u64::from(limit), "a refused attempt must not hash");
    let lockouts = app.store.recent_audit(50).await.expect("audit");
    let lockout = lockouts.iter().find(|e| e.event.kind == "signin.lockout").expect("a lockout is audited");
    assert_eq!(lockout.event.user_id, Some(alice.id));
    assert_eq!(lockout.event.ip.as_deref(), Some("127.0.0.1"));

    // Still refused one second before the back-off ends.
    app.clock.advance(Duration::seconds(29));
    assert_eq!(sign_in(&app, "alice", PASSWORD).await.status(), 429);
    assert_eq!(argon2_runs(&app).await - start, u64::from(limit));

    app.clock.advance(Duration::seconds(1));
    let ok = sign_in(&app, "alice", PASSWORD).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(argon2_runs(&app).await - start, u64::from(limit) + 1);

    let metrics = app.client.get(format!("{}/metrics", app.metrics_address)).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("body");
    for line in [
        "portcullis_signin_attempts_total{outcome=\"failure\"} 5",
        "portcullis_signin_attempts_total{outcome=\"locked\"} 2",
        "portcullis_signin_attempts_total{outcome=\"success\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line} in:\n{metrics}");
    }
}

async fn unknown_accounts_back_off_like_known_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "nobody", "wrong password").await.status(), 200);
    }
    assert_eq!(sign_in(&app, "nobody", "wrong password").await.status(), 429);
}

async fn failures_are_forgotten_after_a_quiet_window(backend: Backend) {
    let app = spawn_app(backend).await;
    create_user(&app, "alice", false).await;
    for _ in 0..4 {
        assert_eq!(sign_in(&app, "alice", "wrong password").await.status(), 200);
    }
    app.clock.advance(Duration::seconds(i64::from(app.settings.auth.failure_window_secs) + 1));
    // The fifth failure in a row, but the first after a quiet day: no back-off.
    assert_eq!(sign_in(&app, "alice", "wrong password").await.status(), 200);
    assert_eq!(sign_in(&app, "alice", PASSWORD).await.status(), 303);
}

async fn the_client_ip_backs_off_across_accounts(backend: Backend) {
    let db = std::sync::Arc::new(portcullis_tests::TestDatabase::new(backend).await);
    let app = portcullis_tests::spawn_app_with(db, |s| s.auth.max_failures_per_ip = 3).await;
    for name in ["a1", "a2", "a3"] {
        assert_eq!(sign_in(&app, name, "wrong password").await.status(), 200);
    }
    let runs = argon2_runs(&app).await;
    assert_eq!(sign_in(&app, "a4", "wrong password").await.status(), 429);
    assert_eq!(argon2_runs(&app).await, runs);
}

async fn an_outdated_hash_is_upgraded_at_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = create_user(&app, "alice", false).await;
    let old = portcullis_authn::PasswordHasher::new(portcullis_authn::Argon2Cost {
        memory_kib: 32,
        iterations: 1,
        parallelism: 1,
    })
    .expect("hasher")
    .hash(&portcullis_authn::Password::new(PASSWORD))
    .expect("hash");
    app.store.set_password_hash(alice.id, &old, time::OffsetDateTime::UNIX_EPOCH).await.expect("set");

    assert_eq!(sign_in(&app, "ALICE", PASSWORD).await.status(), 303);
    let stored =
        app.store.find_user(alice.id).await.expect("find").expect("user").password_hash.expect("hash");
    assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{stored}");
}

async fn a_disabled_user_cannot_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = create_user(&app, "alice", false).await;
    app.store
        .disable_user(alice.id, time::OffsetDateTime::UNIX_EPOCH, &Effects::default())
        .await
        .expect("disable");
    let res = sign_in(&app, "alice@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.expect("body").contains("Wrong username or password."));
}

async fn sign_in_by_email_any_case(backend: Backend) {
    let app = spawn_app(backend).await;
    create_user(&app, "alice", false).await;
    let (cookie, token) = open_login(&app).await;
    let res = post_form(
        &app,
        "/login",
        Some(&cookie),
        &[("csrf_token", &token), ("username", " Alice@Example.COM "), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
}

both_backends!(
    wrong_password_and_unknown_user_answer_identically,
    failures_back_off_before_hashing_until_the_delay_passes,
    unknown_accounts_back_off_like_known_ones,
    failures_are_forgotten_after_a_quiet_window,
    the_client_ip_backs_off_across_accounts,
    an_outdated_hash_is_upgraded_at_sign_in,
    a_disabled_user_cannot_sign_in,
    sign_in_by_email_any_case,
);
