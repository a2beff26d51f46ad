//! Acceptance 5: every security notification is delivered through the real
//! SMTP server with its subject, a text part and an HTML part. Password and
//! email changes are also covered through their flows (reset.rs, email.rs);
//! passkeys, TOTP and recovery codes are driven through the API their
//! features call (`portcullis_authn::notify::security_event`).

use portcullis_authn::notify::{MailContext, Notification, security_event};
use portcullis_core::Clock;
use portcullis_tests::oidc::create_user;
use portcullis_tests::{Backend, both_backends};

use super::mail_app;

async fn every_notification_is_delivered_with_text_and_html(backend: Backend) {
    let (app, smtp) = mail_app(backend, |s| s.mail.product_name = "Acme ID".into()).await;
    let user = create_user(&app, "alice", &[]).await;
    let ctx = MailContext::new("Acme ID", &app.address);
    // (notification, subject, the sentence both parts must carry)
    let cases = [
        (
            Notification::PasswordChanged,
            "Your Acme ID password was changed",
            "The password of your Acme ID account was changed.".to_owned(),
        ),
        (
            Notification::PasskeyAdded { name: "Work laptop".into() },
            "A passkey was added to your Acme ID account",
            "A passkey named \u{201c}Work laptop\u{201d} was added to your Acme ID account.".to_owned(),
        ),
        (
            Notification::PasskeyRemoved { name: "Old phone".into() },
            "A passkey was removed from your Acme ID account",
            "The passkey named \u{201c}Old phone\u{201d} was removed from your Acme ID account.".to_owned(),
        ),
        (
            Notification::TotpEnabled,
            "Two-step sign-in was turned on for your Acme ID account",
            "An authenticator app (one-time codes) was set up for your Acme ID account.".to_owned(),
        ),
        (
            Notification::TotpDisabled,
            "Two-step sign-in was turned off for your Acme ID account",
            "The authenticator app (one-time codes) was removed from your Acme ID account.".to_owned(),
        ),
        (
            Notification::RecoveryCodesRegenerated,
            "New recovery codes for your Acme ID account",
            "New recovery codes were made for your Acme ID account.".to_owned(),
        ),
    ];
    for (n, _, _) in &cases {
        security_event(app.store.as_ref(), &ctx, app.clock.now(), &user, n).await.expect("queued");
    }
    let change = Notification::EmailChanged { old: "alice@example.com".into(), new: "alice@new.test".into() };
    security_event(app.store.as_ref(), &ctx, app.clock.now(), &user, &change).await.expect("queued");

    let mails = smtp.wait_for(cases.len() + 2).await;
    assert_eq!(mails.len(), cases.len() + 2);
    let recover = format!("{}/recover", app.address);
    for (n, subject, sentence) in &cases {
        let found: Vec<_> = mails.iter().filter(|m| m.subject == *subject).collect();
        assert_eq!(found.len(), 1, "{} sent once", n.kind());
        let m = found[0];
        assert_eq!(m.to, "alice@example.com", "{}", n.kind());
        assert!(m.alternative, "{}: multipart/alternative", n.kind());
        assert!(m.text.starts_with("Hello alice Example,"), "{}: {}", n.kind(), m.text);
        assert!(m.text.contains(sentence.as_str()), "{}: text part {}", n.kind(), m.text);
        assert!(m.text.contains(&recover), "{}: {}", n.kind(), m.text);
        assert!(m.html.contains(sentence.as_str()), "{}: HTML part {}", n.kind(), m.html);
        assert!(m.html.contains("<p>Hello alice Example,</p>"), "{}: {}", n.kind(), m.html);
        assert!(m.html.contains(&format!("<a href=\"{recover}\">")), "{}: {}", n.kind(), m.html);
        assert!(m.text.ends_with("-- Acme ID"), "{}: {}", n.kind(), m.text);
    }
    let mut to: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "Your Acme ID email address was changed")
        .map(|m| m.to.as_str())
        .collect();
    to.sort_unstable();
    assert_eq!(to, ["alice@example.com", "alice@new.test"]);
    app.stop().await;
}

both_backends!(every_notification_is_delivered_with_text_and_html);
