//! A user created from the console gets an invitation mail (captured by a
//! real SMTP server); its link sets their first password once, then they
//! sign in. An administrator cannot be invited by mail.

use portcullis_core::Clock;
use portcullis_tests::mfa::{enroll_totp, password_sign_in};
use portcullis_tests::oidc::{Browser, create_user, hidden};
use portcullis_tests::{Backend, both_backends};

use crate::recovery::{mail_app, open, sign_in, signed_in_as, submit};

const CHOSEN: &str = "correct horse battery staple";

async fn an_invited_user_chooses_a_password_once_and_signs_in(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "root", &["admin"]).await;
    let admin = Browser::new(&app);
    assert_eq!(password_sign_in(&admin, "root", &[]).await.status(), 303);
    enroll_totp(&admin, app.clock.now()).await;
    let form = admin.get("/admin/users/new").await.text().await.expect("form");
    let csrf = hidden(&form, "csrf_token").expect("csrf");

    let made = admin
        .post(
            "/admin/users",
            &[("csrf_token", &csrf), ("username", "bob"), ("email", "bob@example.com"), ("name", "Bob B.")],
        )
        .await;
    assert_eq!(made.status(), 303);
    let taken = admin
        .post("/admin/users", &[("csrf_token", &csrf), ("username", "BOB"), ("email", "other@example.com")])
        .await;
    assert_eq!(taken.status(), 422, "usernames are unique whatever their case");
    let admin_invite = admin
        .post(
            "/admin/users",
            &[
                ("csrf_token", &csrf),
                ("username", "carol"),
                ("email", "carol@example.com"),
                ("roles", "admin"),
            ],
        )
        .await;
    assert_eq!(admin_invite.status(), 422, "an administrator cannot be invited by mail");
    assert!(app.store.find_user_by_login("carol").await.expect("find").is_none());

    let bob = app.store.find_user_by_login("bob").await.expect("find").expect("bob exists");
    assert!(bob.password_hash.is_none(), "no password until bob chooses one");
    let events = app.store.recent_audit(10).await.expect("audit");
    let created = events.iter().find(|e| e.event.kind == "user.created").expect("audited");
    assert_eq!(created.event.user_id, Some(bob.id));

    // Root's own notices (the app enabled) may arrive first.
    let mut invitation = None;
    for n in 1..=4 {
        invitation = smtp.wait_for(n).await.into_iter().find(|m| m.to == "bob@example.com");
        if invitation.is_some() {
            break;
        }
    }
    let mail = invitation.expect("the invitation");
    assert_eq!(mail.subject, "Your Portcullis account is ready");
    assert!(mail.text.contains("expires in 7 days"), "{}", mail.text);
    let link = mail.link("/recover/reset?token=").expect("a link");
    let token = link.split("token=").nth(1).expect("token").to_owned();

    let browser = Browser::new(&app);
    let (status, page, csrf) = open(&browser, &link).await;
    assert_eq!(status, 200, "{page}");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("token", &token),
        ("password", CHOSEN),
        ("password_confirm", CHOSEN),
    ];
    let (status, _, body) = submit(&browser, "/recover/reset", &form).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("Bob B."));
    // Once only.
    let (status, _, _) = open(&Browser::new(&app), &link).await;
    assert_eq!(status, 400, "the link is used");
    assert!(sign_in(&Browser::new(&app), "bob", CHOSEN).await);
    let bob = app.store.find_user(bob.id).await.expect("find").expect("bob");
    assert!(bob.email_verified, "the invitation proved the address it was mailed to");
}

both_backends!(an_invited_user_chooses_a_password_once_and_signs_in);
