//! Findings 1, 2, 5, 11 and 12: a mailed link proves the mailbox and
//! nothing more; it dies with a change of the password or the address; a
//! link request does the same work whether or not the address has an
//! account; email-change mails are limited.

use portcullis_authn::recovery::{LinkRequest, LinkRequestSource, Recovery};
use portcullis_authn::{Argon2Cost, PasswordHasher, PasswordPolicy, RequestInfo};
use portcullis_core::Clock;
use portcullis_mailer::{MailContext, MailSource};
use portcullis_store::{Effects, NewUser, Store};
use portcullis_tests::mfa::{account_csrf, enroll_totp, password_sign_in, totp_code};
use portcullis_tests::oidc::{Browser, ClientSpec, Interact, Outcome, PASSWORD, create_client, create_user};
use portcullis_tests::{Backend, SmtpCapture, TestApp, TestDatabase, both_backends, test_store};
use std::sync::Arc;
use time::Duration;

use super::{CB, authorize_url, location};
use crate::recovery::{mail_app, open, sign_in, signed_in_as, submit};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Asks `/recover` for `address` in `browser`; returns the reset link once
/// it arrived as mail number `n`.
async fn reset_link(browser: &Browser, smtp: &SmtpCapture, address: &str, n: usize) -> String {
    let (_, _, csrf) = open(browser, "/recover").await;
    let (status, _, _) = submit(browser, "/recover", &[("csrf_token", &csrf), ("address", address)]).await;
    assert_eq!(status, 200);
    let mails = smtp.wait_for(n).await;
    mails.iter().rev().find_map(|m| m.link("/recover/reset?token=")).expect("a reset link")
}

/// Sets `password` through a reset link in `browser`; returns the answer.
async fn reset_with(browser: &Browser, link: &str, password: &str) -> (u16, String, String) {
    let (status, page, csrf) = open(browser, link).await;
    if status != 200 {
        return (status, String::new(), page);
    }
    let token = link.split("token=").nth(1).expect("token");
    submit(
        browser,
        "/recover/reset",
        &[("csrf_token", &csrf), ("token", token), ("password", password), ("password_confirm", password)],
    )
    .await
}

/// A user `name` with an authenticator app (enrolled by their own browser);
/// returns the app's secret. The enrollment mails a notice (one mail).
async fn user_with_app(app: &TestApp, name: &str) -> String {
    create_user(app, name, &[]).await;
    let owner = Browser::new(app);
    assert_eq!(location(&password_sign_in(&owner, name, &[]).await), "/");
    enroll_totp(&owner, app.clock.now()).await.0
}

/// Finding 1: with the mailbox alone, a reset signs nobody in when the
/// account has a second factor: no session, no account page, no code for an
/// RP — until the authenticator app's code, then `amr` says what happened.
async fn a_reset_link_never_stands_in_for_a_second_factor(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    let secret = user_with_app(&app, "alice").await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    let attacker = Browser::new(&app);
    let link = reset_link(&attacker, &smtp, "alice@example.com", 2).await;
    let (status, to, _) = reset_with(&attacker, &link, NEW_PASSWORD).await;
    assert_eq!((status, to.as_str()), (303, "/login/mfa"), "the second factor is asked next");
    assert_eq!(signed_in_as(&attacker).await, None, "nobody is signed in");
    let account = attacker.get("/account").await;
    assert_eq!((account.status().as_u16(), location(&account).as_str()), (303, "/login?return=/account"));
    match attacker.authorize(&authorize_url(&app, "openid", None).1, Interact::ConsentOnly).await {
        Outcome::Page(200, body) => {
            assert!(body.contains("id=\"totp-form\""), "the app's code is asked: {body}")
        }
        other => panic!("no code without the second factor: {other:?}"),
    }
    let none =
        attacker.authorize(&authorize_url(&app, "openid", Some("none")).1, Interact::ConsentOnly).await;
    assert_eq!(Outcome::param(&none.redirect(), "error").as_deref(), Some("login_required"));

    // The account holder's factor completes it.
    app.clock.advance(Duration::seconds(30));
    let res = super::post_code(&attacker, "totp", &totp_code(&secret, app.clock.now())).await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/"));
    let alice = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    let sessions = app.store.list_user_sessions(alice.id).await.expect("sessions");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].amr, ["email", "otp", "mfa"], "the link is the mailbox, the code the factor");
}

/// Finding 1 for an account that must have a second factor and has none
/// (a new administrator, or one after `users reset-mfa`): a mailed link
/// would make the mailbox the whole account (reset, then enroll the finder's
/// own factor), so none is sent — the answer is the same — and a link issued
/// before the account came to need one no longer works. An operator
/// recovers such an account (`portcullis users set-password`).
async fn an_admin_without_a_factor_gets_no_mailed_link(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    // Alice's link, issued while nothing required her to have a factor.
    let link = reset_link(&browser, &smtp, "alice@example.com", 1).await;
    create_user(&app, "root", &["admin"]).await;
    let (_, _, csrf) = open(&browser, "/recover").await;
    let (status, _, page) =
        submit(&browser, "/recover", &[("csrf_token", &csrf), ("address", "root@example.com")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("If an account exists for that address, we have sent a link"), "{page}");
    crate::recovery::settled(&app).await;
    assert_eq!(app.db.count("SELECT id FROM mail_outbox WHERE recipient = 'root@example.com'").await, 0);
    let refused = "SELECT id FROM audit_events WHERE kind = 'password_reset.requested'
                   AND CAST(detail AS TEXT) LIKE '%needs_operator%'";
    assert_eq!(app.db.count(refused).await, 1);
    // Alice is now required to use a second factor she does not have.
    let alice = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    app.store.set_mfa_required(alice.id, true, app.clock.now(), &Effects::default()).await.expect("require");
    let (status, _, _) = reset_with(&Browser::new(&app), &link, NEW_PASSWORD).await;
    assert_eq!(status, 400, "the earlier link no longer works");
    assert!(sign_in(&Browser::new(&app), "alice", PASSWORD).await, "the password is unchanged");
}

/// Finding 2: a magic link is a first factor: with an app enrolled, the
/// browser that opens it is asked for the code and is not signed in before.
async fn a_magic_link_never_stands_in_for_a_second_factor(backend: Backend) {
    let (app, smtp) = mail_app(backend, |s| s.recovery.magic_link = true).await;
    let secret = user_with_app(&app, "alice").await;
    let browser = Browser::new(&app);
    let (_, _, csrf) = open(&browser, "/login").await;
    let (status, _, _) =
        submit(&browser, "/login/magic", &[("csrf_token", &csrf), ("address", "alice@example.com")]).await;
    assert_eq!(status, 200);
    let link = smtp.wait_for(2).await.iter().find_map(|m| m.link("/login/magic?token=")).expect("a link");
    let res = browser.get(&link).await;
    assert_eq!((res.status().as_u16(), location(&res).as_str()), (303, "/login/mfa"));
    assert_eq!(signed_in_as(&browser).await, None);
    app.clock.advance(Duration::seconds(30));
    let res = super::post_code(&browser, "totp", &totp_code(&secret, app.clock.now())).await;
    assert_eq!(res.status(), 303);
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("alice Example"));
}

/// Finding 5: a reset link issued before a password change is dead after it.
async fn a_reset_link_dies_with_a_password_change(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let link = reset_link(&Browser::new(&app), &smtp, "alice@example.com", 1).await;
    // The account holder changes the password on the account page.
    let owner = Browser::new(&app);
    assert!(sign_in(&owner, "alice", PASSWORD).await);
    let csrf = account_csrf(&owner).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("current_password", PASSWORD),
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    ];
    assert_eq!(owner.post("/account/password", &form).await.status(), 303);
    let (status, _, _) = reset_with(&Browser::new(&app), &link, "the attacker's password").await;
    assert_eq!(status, 400, "the old link is dead");
    assert!(sign_in(&Browser::new(&app), "alice", NEW_PASSWORD).await);
}

/// Finding 5: a reset link sent to the old address is dead once the
/// address changed (the old mailbox cannot take the account back).
async fn a_reset_link_dies_with_an_email_change(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let link = reset_link(&Browser::new(&app), &smtp, "alice@example.com", 1).await;
    let owner = Browser::new(&app);
    assert!(sign_in(&owner, "alice", PASSWORD).await);
    let (_, _, csrf) = open(&owner, "/account/email").await;
    let (status, _, _) =
        submit(&owner, "/account/email", &[("csrf_token", &csrf), ("new_email", "alice@new.example")]).await;
    assert_eq!(status, 200);
    let verify = smtp
        .wait_for(3)
        .await
        .iter()
        .find_map(|m| m.link("/verify-email?token="))
        .expect("a verification link");
    let (_, _, csrf) = open(&owner, &verify).await;
    let token = verify.split("token=").nth(1).expect("token");
    let (status, _, _) = submit(&owner, "/verify-email", &[("csrf_token", &csrf), ("token", token)]).await;
    assert_eq!(status, 200);
    let (status, _, _) = reset_with(&Browser::new(&app), &link, "the attacker's password").await;
    assert_eq!(status, 400, "the old mailbox's link is dead");
}

async fn table_counts(db: &TestDatabase) -> [i64; 5] {
    [
        db.count("SELECT id FROM link_requests").await,
        db.count("SELECT token_hash FROM email_tokens").await,
        db.count("SELECT id FROM mail_outbox").await,
        db.count("SELECT id FROM audit_events").await,
        db.count("SELECT key FROM rate_limits").await,
    ]
}

/// Finding 11: the request path does the same work for a known and an
/// unknown address — one queued row, two counters, nothing else — and the
/// mail worker makes the token and the mail (or nothing) afterwards.
async fn link_requests_do_the_same_work_for_known_and_unknown_addresses(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let clock = portcullis_core::ManualClock::new(time::macros::datetime!(2026-03-01 12:00 UTC));
    store
        .create_user(&NewUser {
            id: uuid::Uuid::new_v4(),
            username: "alice".into(),
            email: "alice@example.com".into(),
            email_verified: true,
            display_name: None,
            roles: vec![],
            password_hash: None,
            created_at: clock.now(),
        })
        .await
        .expect("user");
    let hasher = Arc::new(
        PasswordHasher::new(Argon2Cost { memory_kib: 64, iterations: 1, parallelism: 1 }).expect("hasher"),
    );
    let policy = PasswordPolicy::default();
    let lockouts = portcullis_authn::Lockouts {
        account: portcullis_store::LockoutPolicy {
            max_failures: 5,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            window: Duration::days(1),
        },
        second_factor: portcullis_store::LockoutPolicy {
            max_failures: 5,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            window: Duration::days(1),
        },
        ip: portcullis_store::LockoutPolicy {
            max_failures: 50,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            window: Duration::days(1),
        },
        user_code: portcullis_store::LockoutPolicy {
            max_failures: 5,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            window: Duration::days(1),
        },
    };
    let mail = MailContext::new("Portcullis", "http://localhost:8080");
    let rules = portcullis_authn::recovery::RecoveryRules::default();
    let recovery = Recovery {
        store: store.as_ref(),
        throttle: store.as_ref(),
        hasher: &hasher,
        policy: &policy,
        lockouts: &lockouts,
        mfa: &portcullis_authn::MfaPolicy::default(),
        clock: &clock,
        mail: &mail,
        rules: &rules,
    };
    let from = |ip: &str| RequestInfo { ip: Some(ip.into()), user_agent: Some("test".into()) };
    let before = table_counts(&db).await;
    assert_eq!(
        recovery.request_reset("alice@example.com", &from("192.0.2.1")).await.expect("known"),
        LinkRequest::Queued
    );
    let known = table_counts(&db).await;
    assert_eq!(
        recovery.request_reset("nobody@example.com", &from("192.0.2.2")).await.expect("unknown"),
        LinkRequest::Queued
    );
    let unknown = table_counts(&db).await;
    let delta = |a: [i64; 5], b: [i64; 5]| -> Vec<i64> { a.iter().zip(b).map(|(x, y)| y - x).collect() };
    assert_eq!(delta(before, known), [1, 0, 0, 0, 2], "one queued row and two counters");
    assert_eq!(delta(known, unknown), delta(before, known), "the same work for an unknown address");

    let worker: Arc<dyn Store> = store.clone();
    let source = LinkRequestSource {
        store: worker,
        clock: Arc::new(clock.clone()),
        mail,
        rules,
        mfa: portcullis_authn::MfaPolicy::default(),
    };
    assert_eq!(source.produce().await.expect("produce"), 2);
    let done = table_counts(&db).await;
    assert_eq!(delta(unknown, done), [-2, 1, 1, 2, 0], "a token and a mail for alice only, both audited");
    assert_eq!(db.count("SELECT id FROM mail_outbox WHERE recipient = 'alice@example.com'").await, 1);
}

/// Finding 12: email-change mails are limited per account like other mails.
async fn email_change_mails_are_limited(backend: Backend) {
    let (app, _smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let owner = Browser::new(&app);
    assert!(sign_in(&owner, "alice", PASSWORD).await);
    let limit = app.settings.recovery.max_requests_per_address;
    let mut statuses = Vec::new();
    for i in 0..=limit {
        let (_, _, csrf) = open(&owner, "/account/email").await;
        let address = format!("victim{i}@third-party.example");
        let (status, _, body) =
            submit(&owner, "/account/email", &[("csrf_token", &csrf), ("new_email", &address)]).await;
        if status == 429 {
            assert!(body.contains("Too many email changes"), "{body}");
        }
        statuses.push(status);
    }
    let mut expected = vec![200; usize::try_from(limit).expect("small")];
    expected.push(429);
    assert_eq!(statuses, expected);
    let sent =
        app.db.count("SELECT id FROM mail_outbox WHERE recipient LIKE 'victim%@third-party.example'").await;
    assert_eq!(sent, i64::from(limit), "no mail to a third party beyond the limit");
}

/// Finding 8 for mail: the request limit counts the account, whatever
/// name or address typed for it.
async fn reset_mails_are_limited_per_account_not_per_name_typed(backend: Backend) {
    let (app, _smtp) = mail_app(backend, |s| s.recovery.max_requests_per_address = 2).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    for address in ["alice", "ALICE", "alice@example.com", "Alice@Example.com"] {
        let (_, _, csrf) = open(&browser, "/recover").await;
        let (status, _, _) =
            submit(&browser, "/recover", &[("csrf_token", &csrf), ("address", address)]).await;
        assert_eq!(status, 200);
    }
    crate::recovery::settled(&app).await;
    assert_eq!(
        app.db.count("SELECT id FROM mail_outbox").await,
        2,
        "two mails for the account, not per name"
    );
    let limited = "SELECT id FROM audit_events WHERE kind = 'password_reset.requested' AND CAST(detail AS TEXT) LIKE '%limited%'";
    assert_eq!(app.db.count(limited).await, 2);
}

both_backends!(
    reset_mails_are_limited_per_account_not_per_name_typed,
    a_reset_link_never_stands_in_for_a_second_factor,
    an_admin_without_a_factor_gets_no_mailed_link,
    a_magic_link_never_stands_in_for_a_second_factor,
    a_reset_link_dies_with_a_password_change,
    a_reset_link_dies_with_an_email_change,
    link_requests_do_the_same_work_for_known_and_unknown_addresses,
    email_change_mails_are_limited,
);
