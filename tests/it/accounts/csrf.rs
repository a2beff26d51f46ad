//! Acceptance 5: a POST without or with a wrong CSRF token is refused with a
//! 403 page and changes nothing.

use portcullis_tests::{Backend, both_backends, spawn_app};

use super::{PASSWORD, argon2_runs, create_user, get_with, open_login, post_form, signed_in, state_counts};

/// A session cookie (if any) and the form fields.
type Attempt<'a> = (Option<&'a str>, Vec<(&'a str, &'a str)>);

async fn assert_refused(res: reqwest::Response) {
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let body = res.text().await.expect("body");
    assert!(body.contains("Request refused"), "{body}");
}

async fn sign_in_without_or_with_a_wrong_token_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    create_user(&app, "alice", false).await;
    let (cookie, token) = open_login(&app).await;
    let before = state_counts(&app).await;
    let runs = argon2_runs(&app).await;
    let wrong = "0".repeat(token.len());
    let attempts: [Attempt<'_>; 4] = [
        (Some(&cookie), vec![("username", "alice"), ("password", PASSWORD)]),
        (Some(&cookie), vec![("csrf_token", &wrong), ("username", "alice"), ("password", PASSWORD)]),
        (Some(&cookie), vec![("csrf_token", ""), ("username", "alice"), ("password", PASSWORD)]),
        // The right token without its session (login CSRF from another browser).
        (None, vec![("csrf_token", &token), ("username", "alice"), ("password", PASSWORD)]),
    ];
    for (cookie, form) in attempts {
        assert_refused(post_form(&app, "/login", cookie, &form).await).await;
    }
    assert_eq!(state_counts(&app).await, before, "no row changed");
    assert_eq!(argon2_runs(&app).await, runs, "nothing was hashed");
    let still = get_with(&app, "/", &cookie).await.text().await.expect("body");
    assert!(!still.contains("Signed in as"));
}

async fn sign_out_without_or_with_a_wrong_token_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    create_user(&app, "alice", false).await;
    let cookie = signed_in(&app, "alice").await;
    let before = state_counts(&app).await;
    assert_refused(post_form(&app, "/logout", Some(&cookie), &[]).await).await;
    assert_refused(post_form(&app, "/logout", Some(&cookie), &[("csrf_token", "forged")]).await).await;
    assert_eq!(state_counts(&app).await, before);
    let still = get_with(&app, "/", &cookie).await.text().await.expect("body");
    assert!(still.contains("Signed in as"), "the session survives");
}

async fn setup_without_or_with_a_wrong_token_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = app.setup_path.clone().expect("a setup link");
    let token = path.split("token=").nth(1).expect("token").to_owned();
    let page = app.get(&path).await;
    let (cookie, _) = super::set_cookie(&page).expect("session");
    let before = state_counts(&app).await;
    let form = [
        ("token", token.as_str()),
        ("username", "admin"),
        ("email", "admin@example.com"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    assert_refused(post_form(&app, "/setup", Some(&cookie), &form).await).await;
    let mut forged = form.to_vec();
    forged.push(("csrf_token", "forged"));
    assert_refused(post_form(&app, "/setup", Some(&cookie), &forged).await).await;
    assert_eq!(state_counts(&app).await, before);
    assert_eq!(before[0], 0, "no user was created");
}

both_backends!(
    sign_in_without_or_with_a_wrong_token_is_refused_and_changes_nothing,
    sign_out_without_or_with_a_wrong_token_is_refused_and_changes_nothing,
    setup_without_or_with_a_wrong_token_is_refused_and_changes_nothing,
);
