//! Magic-link sign-in: off by default; the asking browser signs in at once,
//! another one only after "Sign in on this device?"; each link works once.

use portcullis_tests::oidc::{Browser, create_user};
use portcullis_tests::{Backend, both_backends};

use super::{mail_app, open, signed_in_as, submit};

/// Asks for a link in `browser`; returns it once it arrived as mail `n`
/// (the one link not seen before: Maildir names do not sort by arrival).
async fn ask(browser: &Browser, smtp: &portcullis_tests::SmtpCapture, n: usize, seen: &[&str]) -> String {
    let (_, login, csrf) = open(browser, "/login").await;
    assert!(login.contains("Email me a sign-in link"), "{login}");
    let (status, _, page) =
        submit(browser, "/login/magic", &[("csrf_token", &csrf), ("address", "alice@example.com")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"magic-sent\""), "{page}");
    let mails = smtp.wait_for(n).await;
    assert!(mails.iter().all(|m| m.subject == "Your Portcullis sign-in link"), "{mails:?}");
    let mut fresh =
        mails.iter().filter_map(|m| m.link("/login/magic?token=")).filter(|l| !seen.contains(&l.as_str()));
    let link = fresh.next().expect("a new link");
    assert!(fresh.next().is_none(), "one new link");
    link
}

async fn a_magic_link_signs_in_the_asking_browser_and_asks_elsewhere(backend: Backend) {
    let (app, smtp) = mail_app(backend, |s| s.recovery.magic_link = true).await;
    create_user(&app, "alice", &[]).await;
    let laptop = Browser::new(&app);
    let link = ask(&laptop, &smtp, 1, &[]).await;
    let token = link.split("token=").nth(1).expect("token").to_owned();

    // Another browser only gets a question.
    let phone = Browser::new(&app);
    let (status, page, phone_csrf) = open(&phone, &link).await;
    assert_eq!(status, 200);
    assert!(page.contains("Sign in on this device?"), "{page}");
    assert_eq!(signed_in_as(&phone).await, None);

    // The asking browser signs in directly.
    let res = laptop.get(&link).await;
    assert_eq!(res.status(), 303);
    assert_eq!(signed_in_as(&laptop).await.as_deref(), Some("alice Example"));
    // Used: the phone's confirmation now fails, and so does the link.
    let (status, _, _) =
        submit(&phone, "/login/magic/confirm", &[("csrf_token", &phone_csrf), ("token", &token)]).await;
    assert_eq!(status, 400);
    assert_eq!(open(&laptop, &link).await.0, 400);

    // A second link, confirmed on the phone.
    let first = link.clone();
    let link = ask(&laptop, &smtp, 2, &[&first]).await;
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let (_, _, csrf) = open(&phone, &link).await;
    let (status, _, _) =
        submit(&phone, "/login/magic/confirm", &[("csrf_token", "wrong"), ("token", &token)]).await;
    assert_eq!(status, 403, "CSRF-protected");
    let (status, location, _) =
        submit(&phone, "/login/magic/confirm", &[("csrf_token", &csrf), ("token", &token)]).await;
    assert_eq!((status, location.as_str()), (303, "/"));
    assert_eq!(signed_in_as(&phone).await.as_deref(), Some("alice Example"));
    app.stop().await;
}

async fn an_expired_magic_link_fails_and_unknown_addresses_look_the_same(backend: Backend) {
    let (app, smtp) = mail_app(backend, |s| s.recovery.magic_link = true).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    let (_, _, csrf) = open(&browser, "/login").await;
    let known =
        submit(&browser, "/login/magic", &[("csrf_token", &csrf), ("address", "alice@example.com")]).await;
    let unknown =
        submit(&browser, "/login/magic", &[("csrf_token", &csrf), ("address", "eve@example.com")]).await;
    assert_eq!(known, unknown);
    let link = smtp.wait_for(1).await[0].link("/login/magic").expect("link");
    app.clock.advance(time::Duration::minutes(16));
    let (status, page, _) = open(&browser, &link).await;
    assert_eq!(status, 400);
    assert!(page.contains("id=\"link-invalid\""), "{page}");
    assert_eq!(signed_in_as(&browser).await, None);
    app.stop().await;
}

async fn magic_links_are_off_by_default(backend: Backend) {
    let (app, _smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    let (_, login, csrf) = open(&browser, "/login").await;
    assert!(!login.contains("Email me a sign-in link"), "{login}");
    let (status, _, _) =
        submit(&browser, "/login/magic", &[("csrf_token", &csrf), ("address", "alice@example.com")]).await;
    assert_eq!(status, 400);
    assert_eq!(app.db.count("SELECT * FROM email_tokens").await, 0);
    app.stop().await;
}

both_backends!(
    a_magic_link_signs_in_the_asking_browser_and_asks_elsewhere,
    an_expired_magic_link_fails_and_unknown_addresses_look_the_same,
    magic_links_are_off_by_default,
);
