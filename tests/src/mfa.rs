//! Second-factor helpers for tests: an independent RFC 6238 implementation
//! (so the server's is checked against another one), and readers for the
//! account pages.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use time::OffsetDateTime;

use crate::oidc::{Browser, PASSWORD, hidden};

/// The TOTP code of a base32 `secret` (spaces allowed) at `at`: SHA-1, 6 digits, 30 s.
pub fn totp_code(secret: &str, at: OffsetDateTime) -> String {
    let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    let key = data_encoding::BASE32_NOPAD.decode(compact.as_bytes()).expect("base32 secret");
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("hmac key");
    mac.update(&(at.unix_timestamp() / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// The text between `start` and the next `end` after it.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

/// The recovery codes listed on a codes page.
pub fn recovery_codes(html: &str) -> Vec<String> {
    html.split("<li><code>").skip(1).filter_map(|s| s.split("</code>").next()).map(str::to_owned).collect()
}

/// Signs `username` in with the password through `/login`; returns the response (a 303).
pub async fn password_sign_in(
    browser: &Browser,
    username: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let page = browser.get("/login").await.text().await.expect("login page");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let mut form = vec![("csrf_token", csrf.as_str()), ("username", username), ("password", PASSWORD)];
    form.extend_from_slice(extra);
    browser.post("/login", &form).await
}

/// The CSRF token of the account page.
pub async fn account_csrf(browser: &Browser) -> String {
    let page = browser.get("/account").await;
    assert_eq!(page.status(), 200, "the account page needs a signed-in session");
    hidden(&page.text().await.expect("body"), "csrf_token").expect("csrf")
}

/// Enrolls an authenticator app from the account page (the session must
/// be recent) at `now`; returns the shown secret and the recovery codes.
pub async fn enroll_totp(browser: &Browser, now: OffsetDateTime) -> (String, Vec<String>) {
    let csrf = account_csrf(browser).await;
    let page = browser.post("/account/totp", &[("csrf_token", &csrf)]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert!(html.contains("src=\"data:image/svg+xml;base64,"), "a QR code is shown: {html}");
    let secret = between(&html, "id=\"totp-secret\">", "<").expect("the secret is shown").to_owned();
    let code = totp_code(&secret, now);
    let done = browser.post("/account/totp/confirm", &[("csrf_token", &csrf), ("code", &code)]).await;
    assert_eq!(done.status(), 200, "the first enrollment shows the recovery codes");
    let codes = recovery_codes(&done.text().await.expect("body"));
    (secret, codes)
}
