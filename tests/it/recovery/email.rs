//! Email verification on account creation and on email change; the change
//! happens only when the new address's link is followed, and both the old
//! and the new address are told.

use portcullis_tests::oidc::{Browser, PASSWORD, create_user};
use portcullis_tests::{Backend, SmtpCapture, TestDatabase, both_backends, spawn_app_with};
use std::sync::Arc;

use super::{mail_app, open, sign_in, submit, use_smtp};

async fn an_email_change_is_verified_and_both_addresses_are_told(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    let (status, location, _) = submit(&browser, "/account/email", &[("csrf_token", "x")]).await;
    assert_eq!(status, 403, "CSRF first: {location}");
    let (status, _, _) = open(&browser, "/account/email").await;
    assert_eq!(status, 303, "signed-out visitors go to /login");
    assert!(sign_in(&browser, "alice", PASSWORD).await);
    let (status, page, _) = open(&browser, "/account/email").await;
    assert_eq!(status, 200);
    assert!(page.contains("alice@example.com"), "{page}");
    assert!(!page.contains("current_password"), "just signed in: no password asked");
    // Later than the five-minute re-authentication window: the password is asked.
    app.clock.advance(time::Duration::minutes(6));
    let (status, page, csrf) = open(&browser, "/account/email").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"current_password\""), "{page}");

    let wrong =
        [("csrf_token", csrf.as_str()), ("new_email", "alice@new.test"), ("current_password", "nope")];
    let (status, _, page) = submit(&browser, "/account/email", &wrong).await;
    assert_eq!(status, 422);
    assert!(page.contains("Your current password is wrong."), "{page}");
    assert_eq!(app.db.count("SELECT * FROM mail_outbox").await, 0);

    let right =
        [("csrf_token", csrf.as_str()), ("new_email", "alice@new.test"), ("current_password", PASSWORD)];
    let (status, _, page) = submit(&browser, "/account/email", &right).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"email-change-sent\""), "{page}");
    let user = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    assert_eq!(user.email, "alice@example.com", "nothing changes before the link is followed");

    let mails = smtp.wait_for(2).await;
    let verify = mails.iter().find(|m| m.to == "alice@new.test").expect("a link to the new address");
    assert_eq!(verify.subject, "Confirm your email address for Portcullis");
    let link = verify.link("/verify-email?token=").expect("link");
    let heads_up = mails.iter().find(|m| m.to == "alice@example.com").expect("a notice to the old address");
    assert_eq!(heads_up.subject, "Your Portcullis email address is about to change");
    assert!(heads_up.text.contains("to alice@new.test"), "{}", heads_up.text);
    assert!(heads_up.html.contains("to alice@new.test"), "{}", heads_up.html);

    // Opened elsewhere (a phone): a button first, so a link scanner changes nothing.
    let phone = Browser::new(&app);
    let (status, page, csrf) = open(&phone, &link).await;
    assert_eq!(status, 200);
    assert!(page.contains("Confirm <strong>alice@new.test</strong>"), "{page}");
    let token = link.split("token=").nth(1).expect("token");
    let (status, _, page) = submit(&phone, "/verify-email", &[("csrf_token", &csrf), ("token", token)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"email-verified\""), "{page}");
    let user = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    assert_eq!((user.email.as_str(), user.email_verified), ("alice@new.test", true));
    assert!(app.store.find_user_by_login("alice@example.com").await.expect("find").is_none());

    let mails = smtp.wait_for(4).await;
    let changed: Vec<_> =
        mails.iter().filter(|m| m.subject == "Your Portcullis email address was changed").collect();
    let mut to: Vec<_> = changed.iter().map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["alice@example.com", "alice@new.test"], "the old and the new address are told");
    for m in changed {
        let what = "was changed from alice@example.com to alice@new.test.";
        assert!(m.alternative && m.text.contains(what) && m.html.contains(what), "{m:?}");
    }
    // Once only; and the new address signs in.
    let (status, _, _) = submit(&phone, "/verify-email", &[("csrf_token", &csrf), ("token", token)]).await;
    assert_eq!(status, 400);
    assert!(sign_in(&Browser::new(&app), "alice@new.test", PASSWORD).await);
    app.stop().await;
}

async fn a_new_account_gets_a_verification_link(backend: Backend) {
    // Not `mail_app`: the setup link is checked against the app's fixed
    // start clock, and links point at the default issuer (made relative).
    let mut smtp = SmtpCapture::new();
    smtp.start();
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |s| use_smtp(s, &smtp)).await;
    let setup = app.setup_path.clone().expect("no user yet: a setup link");
    let browser = Browser::new(&app);
    let (_, _, csrf) = open(&browser, &setup).await;
    let token = setup.split("token=").nth(1).expect("setup token");
    let password = "first admin passphrase";
    let (status, _, body) = submit(
        &browser,
        "/setup",
        &[
            ("csrf_token", &csrf),
            ("token", token),
            ("username", "root"),
            ("email", "root@example.test"),
            ("password", password),
            ("password_confirm", password),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let user = app.store.find_user_by_login("root").await.expect("find").expect("root");
    assert!(!user.email_verified);
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, "root@example.test");
    let link = mails[0].link("/verify-email?token=").expect("verification link");
    let link = link.strip_prefix(app.settings.issuer.as_str()).expect("under the issuer").to_owned();
    let (status, _, csrf) = open(&browser, &link).await;
    assert_eq!(status, 200);
    let token = link.split("token=").nth(1).expect("token");
    let (status, _, _) = submit(&browser, "/verify-email", &[("csrf_token", &csrf), ("token", token)]).await;
    assert_eq!(status, 200);
    let user = app.store.find_user_by_login("root").await.expect("find").expect("root");
    assert!(user.email_verified);
    assert_eq!(user.email, "root@example.test");
    app.stop().await;
}

both_backends!(
    an_email_change_is_verified_and_both_addresses_are_told,
    a_new_account_gets_a_verification_link
);
