//! Acceptance 2 and 3: the password reset end to end, single use, expiry,
//! identical answers for known and unknown addresses, rate limits, and the
//! pages without mail.

use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, PASSWORD, create_client, create_user, pkce, token_request,
};
use portcullis_tests::{Backend, TestApp, both_backends, spawn_app};
use serde_json::Value;

use super::{mail_app, open, settled, sign_in, signed_in_as, submit};

const CB: &str = "http://127.0.0.1:9/cb";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// Runs the code flow for alice in `browser` with `scope`; returns the refresh token.
async fn refresh_token(app: &TestApp, browser: &Browser, scope: &str) -> String {
    let (verifier, challenge) = pkce();
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", "rp")
        .append_pair("redirect_uri", CB)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = browser.authorize(url.as_str(), Interact::As("alice")).await.redirect();
    let code = Outcome::param(&back, "code").expect("code");
    let (status, body) = token_endpoint(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["refresh_token"].as_str().expect("refresh token").to_owned()
}

async fn token_endpoint(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let res = token_request(app, "rp", form).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// Asks for a reset link for `address` in a fresh browser; returns its page.
async fn request_reset(app: &TestApp, browser: &Browser, address: &str) -> (u16, String) {
    let (_, _, csrf) = open(browser, "/recover").await;
    let (status, _, body) = submit(browser, "/recover", &[("csrf_token", &csrf), ("address", address)]).await;
    let _ = app;
    (status, body)
}

async fn password_reset_end_to_end(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    // An old session holding a session-bound and an offline refresh token.
    let old = Browser::new(&app);
    let bound = refresh_token(&app, &old, "openid profile").await;
    let offline = refresh_token(&app, &old, "openid offline_access").await;
    assert_eq!(signed_in_as(&old).await.as_deref(), Some("alice Example"));

    // "Forgot password?" on the sign-in page leads to /recover.
    let fresh = Browser::new(&app);
    let (_, login, _) = open(&fresh, "/login").await;
    assert!(login.contains("<a href=\"/recover\" id=\"forgot-password\">Forgot password?</a>"), "{login}");
    assert!(!login.contains("/login/magic"), "magic links are off by default");
    let (status, page) = request_reset(&app, &fresh, "alice@example.com").await;
    assert_eq!(status, 200);
    assert!(page.contains("If an account exists for that address, we have sent a link"), "{page}");

    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.to, "alice@example.com");
    assert_eq!(mail.subject, "Reset your Portcullis password");
    assert!(mail.alternative && mail.text.contains("expires in 15 minutes"), "{mail:?}");
    let link = mail.link("/recover/reset?token=").expect("a reset link in the text part");
    assert!(mail.html.contains(&format!("href=\"{link}\"")), "{}", mail.html);
    let token = link.split("token=").nth(1).expect("token");
    assert_eq!(token.len(), 64, "256 random bits, hex");

    let (status, form, csrf) = open(&fresh, &link).await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("Choose a new password") && form.contains("<strong>alice</strong>"), "{form}");
    let (status, _, body) = submit(
        &fresh,
        "/recover/reset",
        &[("csrf_token", &csrf), ("token", token), ("password", "short"), ("password_confirm", "short")],
    )
    .await;
    assert_eq!(status, 422, "the policy applies: {body}");
    let (status, location, _) = submit(
        &fresh,
        "/recover/reset",
        &[
            ("csrf_token", &csrf),
            ("token", token),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/"));
    assert_eq!(signed_in_as(&fresh).await.as_deref(), Some("alice Example"), "signed in afresh");

    // Every old session and refresh token is dead.
    assert_eq!(signed_in_as(&old).await, None, "the old session still works");
    for refresh in [&bound, &offline] {
        let (status, body) =
            token_endpoint(&app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    }
    // The new password works, the old one does not.
    assert!(!sign_in(&Browser::new(&app), "alice", PASSWORD).await);
    assert!(sign_in(&Browser::new(&app), "alice", NEW_PASSWORD).await);

    // The link worked once.
    let (status, body, _) = open(&fresh, &link).await;
    assert_eq!(status, 400);
    assert!(body.contains("id=\"link-invalid\""), "{body}");
    let csrf = super::open(&fresh, "/recover").await.2;
    let (status, _, body) = submit(
        &fresh,
        "/recover/reset",
        &[
            ("csrf_token", &csrf),
            ("token", token),
            ("password", "yet another one!"),
            ("password_confirm", "yet another one!"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(sign_in(&Browser::new(&app), "alice", NEW_PASSWORD).await, "the second use changed nothing");

    // And alice is told.
    let mails = smtp.wait_for(2).await;
    let notice = mails.iter().find(|m| m.subject == "Your Portcullis password was changed").expect("notice");
    assert_eq!(notice.to, "alice@example.com");
    assert!(notice.text.contains("The password of your Portcullis account was changed."), "{}", notice.text);
    assert!(notice.html.contains("The password of your Portcullis account was changed."), "{}", notice.html);
    app.stop().await;
}

async fn an_expired_reset_link_fails(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    request_reset(&app, &browser, "alice").await;
    let link = smtp.wait_for(1).await[0].link("/recover/reset").expect("link");
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let (status, _, csrf) = open(&browser, &link).await;
    assert_eq!(status, 200, "live at first");

    app.clock.advance(time::Duration::minutes(15));
    let (status, body, _) = open(&browser, &link).await;
    assert_eq!(status, 400, "expired after 15 minutes");
    assert!(body.contains("id=\"link-invalid\""), "{body}");
    let (status, _, _) = submit(
        &browser,
        "/recover/reset",
        &[
            ("csrf_token", &csrf),
            ("token", &token),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(sign_in(&Browser::new(&app), "alice", PASSWORD).await, "the password is unchanged");
    assert!(!sign_in(&Browser::new(&app), "alice", NEW_PASSWORD).await);
    app.stop().await;
}

async fn known_and_unknown_addresses_get_identical_answers(backend: Backend) {
    let (app, smtp) = mail_app(backend, |_| {}).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    let (_, _, csrf) = open(&browser, "/recover").await;
    let mut answers = Vec::new();
    for address in ["alice@example.com", "nobody@example.com", "not even an address"] {
        let res = browser.post("/recover", &[("csrf_token", &csrf), ("address", address)]).await;
        let status = res.status().as_u16();
        let headers: Vec<_> = ["content-type", "cache-control", "content-security-policy"]
            .iter()
            .map(|h| res.headers().get(*h).map(|v| v.to_str().expect("ascii").to_owned()))
            .collect();
        let set_cookie = res.headers().get("set-cookie").is_some();
        answers.push((status, headers, set_cookie, res.text().await.expect("body")));
    }
    assert_eq!(answers[0].0, 200);
    assert_eq!(answers[0], answers[1], "known and unknown addresses differ");
    assert_eq!(answers[0], answers[2]);
    // Both paths did their work: counted, queued, audited by the worker;
    // only the known one got a mail.
    settled(&app).await;
    let requested = "SELECT * FROM audit_events WHERE kind = 'password_reset.requested'";
    assert_eq!(app.db.count(requested).await, 3);
    assert_eq!(app.db.count("SELECT * FROM mail_outbox").await, 1);
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, "alice@example.com");
    app.stop().await;
}

async fn requests_are_rate_limited_per_address_without_telling(backend: Backend) {
    let (app, smtp) = mail_app(backend, |s| s.recovery.max_requests_per_address = 2).await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    let (_, _, csrf) = open(&browser, "/recover").await;
    let mut pages = Vec::new();
    for _ in 0..4 {
        let (status, _, body) =
            submit(&browser, "/recover", &[("csrf_token", &csrf), ("address", "Alice@Example.com")]).await;
        pages.push((status, body));
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "a limited request looks different");
    settled(&app).await;
    assert_eq!(app.db.count("SELECT * FROM mail_outbox").await, 2, "two links, then nothing");
    smtp.wait_for(2).await;
    // A quiet hour later the address may ask again (in a new session: the
    // old one timed out meanwhile).
    app.clock.advance(time::Duration::hours(1) + time::Duration::seconds(1));
    let later = Browser::new(&app);
    let (_, _, csrf) = open(&later, "/recover").await;
    let (status, _, _) =
        submit(&later, "/recover", &[("csrf_token", &csrf), ("address", "alice@example.com")]).await;
    assert_eq!(status, 200);
    settled(&app).await;
    assert_eq!(app.db.count("SELECT * FROM mail_outbox").await, 3);
    app.stop().await;
}

async fn without_mail_the_recovery_pages_say_so(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.settings.smtp.host.is_none() && !app.settings.dev_mode);
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    let (status, page, csrf) = open(&browser, "/recover").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"mail-unavailable\"") && page.contains("mail is not set up"), "{page}");
    assert!(!page.contains("action=\"/recover\""), "no form without mail");
    let csrf = if csrf.is_empty() { open(&browser, "/login").await.2 } else { csrf };
    let (status, _, page) =
        submit(&browser, "/recover", &[("csrf_token", &csrf), ("address", "alice@example.com")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("mail is not set up"), "{page}");
    assert_eq!(app.db.count("SELECT * FROM mail_outbox").await, 0);
    assert_eq!(app.db.count("SELECT * FROM email_tokens").await, 0);
    app.stop().await;
}

async fn dev_mode_without_smtp_offers_recovery_and_logs_instead_of_sending(backend: Backend) {
    let db = std::sync::Arc::new(portcullis_tests::TestDatabase::new(backend).await);
    let app = portcullis_tests::spawn_app_with(db, |s| {
        s.dev_mode = true;
        s.mail.poll_interval_secs = 1;
    })
    .await;
    create_user(&app, "alice", &[]).await;
    let browser = Browser::new(&app);
    let (_, page, csrf) = open(&browser, "/recover").await;
    assert!(page.contains("action=\"/recover\""), "{page}");
    let (status, _, _) =
        submit(&browser, "/recover", &[("csrf_token", &csrf), ("address", "alice@example.com")]).await;
    assert_eq!(status, 200);
    // The log mailer "sends" it (logging the link): the outbox row ends sent.
    let sent = "SELECT * FROM mail_outbox WHERE status = 'sent'";
    for _ in 0..300 {
        if app.db.count(sent).await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.db.count(sent).await, 1);
    app.stop().await;
}

both_backends!(
    password_reset_end_to_end,
    an_expired_reset_link_fails,
    known_and_unknown_addresses_get_identical_answers,
    requests_are_rate_limited_per_address_without_telling,
    without_mail_the_recovery_pages_say_so,
    dev_mode_without_smtp_offers_recovery_and_logs_instead_of_sending,
);
