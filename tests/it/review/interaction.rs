//! Finding 16 and a tightening: what the protocol is told about a sign-in
//! that still lacks a step, and a database failure while a pending request
//! is loaded.

use portcullis_core::Clock;
use portcullis_tests::mfa::{enroll_totp, password_sign_in, totp_code};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, PASSWORD, create_client, create_user, spawn_oidc_app,
};
use portcullis_tests::{Backend, TestApp, both_backends};

use super::{CB, authorize_url, location};

fn url(app: &TestApp, prompt: Option<&str>) -> String {
    authorize_url(app, "openid", prompt).1
}

/// Finding 16: an administrator who must enroll a second factor is not
/// signed in as far as the protocol goes: with `prompt=none` the client gets
/// `interaction_required` (OIDC Core §3.1.2.6), otherwise the enrollment page.
async fn prompt_none_for_an_admin_who_must_enroll_is_interaction_required(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    let browser = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&browser, "root", &[]).await), "/account?enroll=required&request=");
    let back = browser.authorize(&url(&app, Some("none")), Interact::ConsentOnly).await.redirect();
    assert_eq!(Outcome::param(&back, "error").as_deref(), Some("interaction_required"));
    assert_eq!(Outcome::param(&back, "state").as_deref(), Some("s"));
    assert_eq!(Outcome::param(&back, "code"), None);
    match browser.authorize(&url(&app, None), Interact::ConsentOnly).await {
        Outcome::Page(200, body) => assert!(body.contains("id=\"enroll-required\""), "{body}"),
        other => panic!("the enrollment page, not a code: {other:?}"),
    }
}

/// Tightening: when the database fails while a pending authorization
/// request is loaded, the pages answer an error page, never a page that
/// silently dropped the request. (The table is dropped: a failure both
/// backends report as such, mid-flow.) A missing table is a fault, not a
/// database that is away: 500, without `Retry-After` (the 503 of an outage
/// is `faults::postgres_restart`'s).
async fn a_database_fault_loading_a_pending_request_is_an_error_page(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    let browser = Browser::new(&app);
    let page = match browser.authorize(&url(&app, None), Interact::ConsentOnly).await {
        Outcome::Page(200, body) => body,
        other => panic!("the sign-in page: {other:?}"),
    };
    let request = portcullis_tests::oidc::hidden(&page, "request").expect("the pending request");
    assert!(!request.is_empty());
    app.db.execute("DROP TABLE auth_requests").await;
    for path in [format!("/login?request={request}"), format!("/authorize/resume?request={request}")] {
        let res = browser.get(&path).await;
        assert_eq!(res.status(), 500, "{path}");
        assert!(!res.headers().contains_key("retry-after"), "{path}");
        let body = res.text().await.expect("body");
        assert!(body.contains("Something went wrong"), "{body}");
    }
}

/// A password hash upgraded at sign-in (the same password, new argon2
/// parameters) keeps the account's security stamp, so the pending sign-in
/// it started still completes with the second factor.
async fn a_hash_upgraded_at_sign_in_keeps_the_pending_second_factor(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    let owner = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&owner, "alice", &[]).await), "/");
    let (secret, _) = enroll_totp(&owner, app.clock.now()).await;
    let outdated = portcullis_authn::PasswordHasher::new(portcullis_authn::Argon2Cost {
        memory_kib: 32,
        iterations: 1,
        parallelism: 1,
    })
    .expect("hasher")
    .hash(&portcullis_authn::Password::new(PASSWORD))
    .expect("hash");
    app.store.set_password_hash(alice.id, &outdated, app.clock.now()).await.expect("set");
    let browser = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&browser, "alice", &[]).await), "/login/mfa");
    let upgraded = app.store.find_user(alice.id).await.expect("find").expect("alice");
    assert_ne!(upgraded.password_hash.as_deref(), Some(outdated.as_str()), "upgraded at sign-in");
    app.clock.advance(time::Duration::seconds(30));
    let res = super::post_code(&browser, "totp", &totp_code(&secret, app.clock.now())).await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/"));
}

both_backends!(
    a_hash_upgraded_at_sign_in_keeps_the_pending_second_factor,
    prompt_none_for_an_admin_who_must_enroll_is_interaction_required,
    a_database_fault_loading_a_pending_request_is_an_error_page,
);
