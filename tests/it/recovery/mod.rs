//! The recovery mailer end to end, through a real SMTP server (aiosmtpd):
//! password reset, uniform answers, rate limits, email verification and
//! change, magic links, security notifications, and delivery across an
//! SMTP outage and a restart. Every test runs on both backends.

mod email;
mod magic;
mod notifications;
mod reset;
mod restart;

use portcullis_server::Settings;
use portcullis_server::settings::SmtpTls;
use portcullis_tests::oidc::{Browser, hidden, spawn_oidc_app_with};
use portcullis_tests::{Backend, SmtpCapture, TestApp, TestDatabase};
use std::sync::Arc;

/// Points the app at `smtp` (plain SMTP on loopback), polling every second.
pub(crate) fn use_smtp(s: &mut Settings, smtp: &SmtpCapture) {
    s.smtp.host = Some("127.0.0.1".into());
    s.smtp.port = smtp.port;
    s.smtp.tls = SmtpTls::None;
    s.smtp.from = "Portcullis <no-reply@example.test>".into();
    s.mail.poll_interval_secs = 1;
}

/// A running SMTP capture and an app sending through it (issuer = its own
/// address, so mailed links work), after `customise`.
pub(crate) async fn mail_app(
    backend: Backend,
    customise: impl FnOnce(&mut Settings),
) -> (TestApp, SmtpCapture) {
    let mut smtp = SmtpCapture::new();
    smtp.start();
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| {
        use_smtp(s, &smtp);
        customise(s);
    })
    .await;
    (app, smtp)
}

/// Waits until the mail worker has handled every queued link request (the
/// request path only queues them; a bounded wait, not a speed assertion).
pub(crate) async fn settled(app: &TestApp) {
    for _ in 0..300 {
        if app.db.count("SELECT id FROM link_requests").await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("link requests still queued after 30 s");
}

/// GETs `path` and returns (status, body, the form's CSRF token if any).
pub(crate) async fn open(browser: &Browser, path: &str) -> (u16, String, String) {
    let res = browser.get(path).await;
    let status = res.status().as_u16();
    let body = res.text().await.expect("body");
    let csrf = hidden(&body, "csrf_token").unwrap_or_default();
    (status, body, csrf)
}

/// POSTs a form and returns (status, Location header, body).
pub(crate) async fn submit(browser: &Browser, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let res = browser.post(path, form).await;
    let status = res.status().as_u16();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, location, res.text().await.expect("body"))
}

/// Signs `login` in through `/login` with `password`; true on success.
pub(crate) async fn sign_in(browser: &Browser, login: &str, password: &str) -> bool {
    let (_, _, csrf) = open(browser, "/login").await;
    let (status, _, _) =
        submit(browser, "/login", &[("csrf_token", &csrf), ("username", login), ("password", password)])
            .await;
    status == 303
}

/// Who the start page says is signed in, if anyone.
pub(crate) async fn signed_in_as(browser: &Browser) -> Option<String> {
    let (_, body, _) = open(browser, "/").await;
    let start = body.find("Signed in as <strong>")? + "Signed in as <strong>".len();
    Some(body[start..].split('<').next()?.to_owned())
}
