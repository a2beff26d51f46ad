//! TOTP and recovery codes as second factors, step-up through `acr_values`,
//! `max_age`, the enrollment policy and the re-authentication gate.

use base64::Engine;
use portcullis_core::Clock;
use portcullis_store::{AuditOutcome, Effects, PasskeyRow};
use portcullis_tests::mfa::{account_csrf, enroll_totp, password_sign_in, totp_code};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, create_user, hidden, pkce, redeem_code,
    spawn_oidc_app,
};
use portcullis_tests::{Backend, TestApp, both_backends};
use serde_json::Value;

const CB: &str = "http://127.0.0.1:9/cb";
const MFA: &str = "urn:portcullis:acr:mfa";

async fn setup(backend: Backend) -> TestApp {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    app
}

fn authorize_url(app: &TestApp, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", "rp")
        .append_pair("redirect_uri", CB)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile")
        .append_pair("state", "s")
        .append_pair("nonce", "n")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// Redeems `code` and returns the ID token's claims (signature checked elsewhere).
async fn id_token_claims(app: &TestApp, code: &str, verifier: &str) -> Value {
    let res = redeem_code(app, "rp", code, CB, verifier).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    let id_token = body["id_token"].as_str().expect("id_token");
    let payload = id_token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"))
        .expect("claims")
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().expect("ascii").to_owned()
}

/// Posts a second factor on the page `html`.
async fn second_factor(browser: &Browser, html: &str, method: &str, code: &str) -> reqwest::Response {
    let csrf = hidden(html, "csrf_token").expect("csrf");
    let request = hidden(html, "request").unwrap_or_default();
    browser
        .post(
            "/login/mfa",
            &[("csrf_token", &csrf), ("method", method), ("code", code), ("request", &request)],
        )
        .await
}

fn page(outcome: Outcome) -> String {
    match outcome {
        Outcome::Page(200, body) => body,
        other => panic!("expected a page, got {other:?}"),
    }
}

async fn failures(app: &TestApp, key: &str) -> u32 {
    app.store.find_rate_limit(key).await.expect("rate limit").map_or(0, |r| r.failures)
}

/// Acceptance 2 and 4: enrollment with codes computed from the shown secret,
/// step-up by `acr_values`, the code asked after the password, replay and
/// wrong codes refused and counted.
async fn totp_enrollment_step_up_and_replay(backend: Backend) {
    let app = setup(backend).await;
    // Signed in with the password before the app existed.
    let browser = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&browser, "alice", &[]).await), "/");
    let enrolling = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&enrolling, "alice", &[]).await), "/");
    let (secret, codes) = enroll_totp(&enrolling, app.clock.now()).await;
    assert_eq!(codes.len(), 10, "ten recovery codes at the first enrollment");
    let alice = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    let row = app.store.find_totp(alice.id).await.expect("totp").expect("a secret");
    assert!(row.confirmed_at.is_some());
    assert!(!row.secret_sealed.contains(&secret.replace(' ', "")), "sealed at rest");
    assert_eq!(app.db.count("SELECT user_id FROM audit_events WHERE kind = 'totp.enabled'").await, 1);
    assert_eq!(
        app.db
            .count("SELECT id FROM mail_outbox WHERE recipient = 'alice@example.com' AND subject LIKE 'Two-step sign-in was turned on%'")
            .await,
        1,
        "the account's address is told"
    );

    // Step-up: the password-only session must prove the app before a code
    // is issued. (The enrolling session proved it by confirming the app.)
    let (verifier, challenge) = pkce();
    let html = page(
        browser
            .authorize(&authorize_url(&app, &challenge, &[("acr_values", MFA)]), Interact::ConsentOnly)
            .await,
    );
    assert!(html.contains("id=\"totp-form\""), "the second factor is asked: {html}");
    app.clock.advance(time::Duration::seconds(30));
    let before = browser.session_cookie();
    let res = second_factor(&browser, &html, "totp", &totp_code(&secret, app.clock.now())).await;
    assert_eq!(res.status(), 303);
    assert_ne!(browser.session_cookie(), before, "a step-up changes the session id");
    let back = browser.authorize(&location(&res), Interact::ConsentOnly).await.redirect();
    let claims = id_token_claims(&app, &Outcome::param(&back, "code").expect("code"), &verifier).await;
    assert_eq!(claims["acr"], MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    let used = totp_code(&secret, app.clock.now());

    // A fresh browser: the password, then the code.
    let other = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let html = page(other.authorize(&authorize_url(&app, &challenge, &[]), Interact::As("alice")).await);
    assert!(html.contains("id=\"totp-form\""), "sign-in asks for the code after the password: {html}");
    let again = other.get("/login/mfa").await;
    let csp = again.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9"), "the form may end at the client: {csp}");
    assert!(other.session_cookie().is_some());
    assert!(
        app.db.count("SELECT id_hash FROM sessions WHERE user_id IS NOT NULL").await == 2,
        "not signed in before the second factor (the two sessions are the earlier ones)"
    );
    let counter = format!("mfa:{}", alice.id);
    let before = failures(&app, &counter).await;
    let replay = second_factor(&other, &html, "totp", &used).await;
    assert_eq!(replay.status(), 200);
    let replay_html = replay.text().await.expect("body");
    assert!(replay_html.contains("That code is not valid"), "a reused code is refused");
    assert_eq!(failures(&app, &counter).await, before + 1, "and counted");
    let wrong = if used == "000000" { "111111" } else { "000000" };
    let res = second_factor(&other, &replay_html, "totp", wrong).await;
    assert!(res.text().await.expect("body").contains("That code is not valid"));
    assert_eq!(failures(&app, &counter).await, before + 2, "a wrong code counts towards the back-off");

    app.clock.advance(time::Duration::seconds(30));
    let res = second_factor(&other, &replay_html, "totp", &totp_code(&secret, app.clock.now())).await;
    assert_eq!(res.status(), 303);
    let back = other.authorize(&location(&res), Interact::ConsentOnly).await.redirect();
    let claims = id_token_claims(&app, &Outcome::param(&back, "code").expect("code"), &verifier).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(failures(&app, &counter).await, 0, "success clears the counter");
}

/// Five wrong codes start the same back-off as five wrong passwords.
async fn wrong_codes_back_off(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    password_sign_in(&browser, "alice", &[]).await;
    let (secret, _) = enroll_totp(&browser, app.clock.now()).await;
    let other = Browser::new(&app);
    let res = password_sign_in(&other, "alice", &[]).await;
    assert_eq!(location(&res), "/login/mfa");
    let html = other.get("/login/mfa").await.text().await.expect("body");
    let good = totp_code(&secret, app.clock.now() + time::Duration::seconds(30));
    let wrong = if good == "000000" { "111111" } else { "000000" };
    let mut last = 0;
    for _ in 0..6 {
        last = second_factor(&other, &html, "totp", wrong).await.status().as_u16();
    }
    assert_eq!(last, 429, "backing off");
    let refused = second_factor(&other, &html, "totp", &good).await;
    assert_eq!(refused.status(), 429, "even a right code waits out the back-off");
}

/// Acceptance 3: a recovery code signs in once and never again.
async fn a_recovery_code_works_once(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    password_sign_in(&browser, "alice", &[]).await;
    let (_, codes) = enroll_totp(&browser, app.clock.now()).await;
    let alice = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    assert_eq!(app.store.count_recovery_codes(alice.id).await.expect("count"), 10);

    let first = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let html = page(first.authorize(&authorize_url(&app, &challenge, &[]), Interact::As("alice")).await);
    assert!(html.contains("id=\"recovery-form\""));
    let res = second_factor(&first, &html, "recovery", &codes[3].to_uppercase()).await;
    assert_eq!(res.status(), 303, "a recovery code is accepted (typed in any case)");
    let back = first.authorize(&location(&res), Interact::ConsentOnly).await.redirect();
    let claims = id_token_claims(&app, &Outcome::param(&back, "code").expect("code"), &verifier).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(app.store.count_recovery_codes(alice.id).await.expect("count"), 9);

    let second = Browser::new(&app);
    let (_, challenge) = pkce();
    let html = page(second.authorize(&authorize_url(&app, &challenge, &[]), Interact::As("alice")).await);
    let res = second_factor(&second, &html, "recovery", &codes[3]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.expect("body").contains("That code is not valid"), "never again");
    let res = second_factor(&second, &html, "recovery", &codes[4]).await;
    assert_eq!(res.status(), 303, "another code still works");
}

/// Acceptance 4: `max_age` exceeded leads to re-authentication.
async fn max_age_exceeded_asks_to_sign_in_again(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let back =
        browser.authorize(&authorize_url(&app, &challenge, &[]), Interact::As("alice")).await.redirect();
    let first = id_token_claims(&app, &Outcome::param(&back, "code").expect("code"), &verifier).await;

    app.clock.advance(time::Duration::seconds(120));
    let (_, challenge) = pkce();
    let fresh = browser
        .authorize(&authorize_url(&app, &challenge, &[("max_age", "600")]), Interact::ConsentOnly)
        .await;
    assert!(matches!(fresh, Outcome::Redirect(_)), "a recent enough session needs no sign-in");
    let (verifier, challenge) = pkce();
    let html = page(
        browser
            .authorize(&authorize_url(&app, &challenge, &[("max_age", "60")]), Interact::ConsentOnly)
            .await,
    );
    assert!(html.contains("action=\"/login\""), "an older session signs in again: {html}");
    let back = browser
        .authorize(&authorize_url(&app, &challenge, &[("max_age", "60")]), Interact::As("alice"))
        .await
        .redirect();
    let second = id_token_claims(&app, &Outcome::param(&back, "code").expect("code"), &verifier).await;
    assert_eq!(
        second["auth_time"].as_i64().expect("auth_time") - first["auth_time"].as_i64().expect("auth_time"),
        120
    );
    assert_eq!(second["sid"], first["sid"], "the same session, re-authenticated");
}

/// The policy: an admin (or a user marked "MFA required") without a second
/// factor is led through enrollment before a code is issued.
async fn users_who_must_use_mfa_enroll_first(backend: Backend) {
    let app = setup(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let browser = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let html = page(browser.authorize(&authorize_url(&app, &challenge, &[]), Interact::As("root")).await);
    assert!(html.contains("id=\"enroll-required\""), "led to enrollment: {html}");
    assert!(!html.contains("id=\"continue\""), "no way on before enrolling");
    let (_, codes) = enroll_totp(&browser, app.clock.now()).await;
    assert_eq!(codes.len(), 10);
    let account =
        browser.get(&format!("/account?request={}", hidden(&html, "request").expect("request"))).await;
    let account = account.text().await.expect("body");
    let next = portcullis_tests::mfa::between(&account, "id=\"continue\" href=\"", "\"")
        .expect("continue")
        .to_owned();
    let back = browser.authorize(&next.replace("&amp;", "&"), Interact::ConsentOnly).await.redirect();
    let claims = id_token_claims(&app, &Outcome::param(&back, "code").expect("code"), &verifier).await;
    assert_eq!(
        claims["sub"],
        app.store.find_user_by_login("root").await.expect("find").expect("root").id.to_string()
    );

    // Per user: alice is marked, and is led to enrollment too.
    let alice = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    app.store.set_mfa_required(alice.id, true, app.clock.now(), &Effects::default()).await.expect("mark");
    let other = Browser::new(&app);
    let res = password_sign_in(&other, "alice", &[]).await;
    assert_eq!(location(&res), "/account?enroll=required&request=");
}

/// Acceptance 5: removing a passkey needs a recent re-authentication; after
/// it, the session id has changed and an audit event exists.
async fn removing_a_passkey_needs_a_fresh_sign_in(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    password_sign_in(&browser, "alice", &[]).await;
    let (secret, _) = enroll_totp(&browser, app.clock.now()).await;
    let alice = app.store.find_user_by_login("alice").await.expect("find").expect("alice");
    let passkey = PasskeyRow {
        id: uuid::Uuid::new_v4(),
        user_id: alice.id,
        credential_id: "Y3JlZGVudGlhbA".into(),
        name: "Old phone".into(),
        passkey: "{}".into(),
        created_at: app.clock.now(),
        last_used_at: None,
    };
    app.store.add_passkey(&passkey).await.expect("add");
    // Another session of alice's, to be ended by the removal.
    let elsewhere = Browser::new(&app);
    let html = page(elsewhere.authorize(&authorize_url(&app, &pkce().1, &[]), Interact::As("alice")).await);
    let res = second_factor(
        &elsewhere,
        &html,
        "totp",
        &totp_code(&secret, app.clock.now() + time::Duration::seconds(30)),
    )
    .await;
    assert_eq!(res.status(), 303);

    app.clock.advance(time::Duration::minutes(6));
    let csrf = account_csrf(&browser).await;
    let path = format!("/account/passkeys/{}/delete", passkey.id);
    let refused = browser.post(&path, &[("csrf_token", &csrf)]).await;
    assert_eq!(refused.status(), 303);
    assert_eq!(location(&refused), "/login?return=/account", "refused: confirm it is you first");
    assert_eq!(app.store.list_passkeys(alice.id).await.expect("list").len(), 1, "still there");
    let audit = app.store.recent_audit(20).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.event.kind == "account.reauth_required" && e.event.outcome == AuditOutcome::Failure)
    );

    // Re-authenticate: the password, then the app.
    let res = password_sign_in(&browser, "alice", &[("return", "/account")]).await;
    assert_eq!(location(&res), "/login/mfa");
    let html = browser.get("/login/mfa").await.text().await.expect("body");
    let res = second_factor(&browser, &html, "totp", &totp_code(&secret, app.clock.now())).await;
    assert_eq!(location(&res), "/account");
    let before = browser.session_cookie().expect("cookie");
    let csrf = account_csrf(&browser).await;
    let removed = browser.post(&path, &[("csrf_token", &csrf)]).await;
    assert_eq!(location(&removed), "/account?done=passkey-removed");
    let after = browser.session_cookie().expect("cookie");
    assert_ne!(after, before, "the session id changed");
    assert_eq!(browser.get("/account").await.status(), 200, "the new id is signed in");
    assert!(app.store.list_passkeys(alice.id).await.expect("list").is_empty());
    let audit = app.store.recent_audit(50).await.expect("audit");
    let event = audit.iter().find(|e| e.event.kind == "passkey.removed").expect("an audit event");
    assert_eq!(event.event.user_id, Some(alice.id));
    assert_eq!(event.event.detail["passkey_id"], passkey.id.to_string());
    assert_eq!(
        app.db.count("SELECT id_hash FROM sessions WHERE user_id IS NOT NULL").await,
        1,
        "the other session ended"
    );
}

both_backends!(totp_enrollment_step_up_and_replay);
both_backends!(wrong_codes_back_off);
both_backends!(a_recovery_code_works_once);
both_backends!(max_age_exceeded_asks_to_sign_in_again);
both_backends!(users_who_must_use_mfa_enroll_first);
both_backends!(removing_a_passkey_needs_a_fresh_sign_in);

/// `portcullis users reset-mfa`: a user who lost every factor gets back in
/// with the password alone, after an administrator's reset; `require-mfa`
/// marks a user.
async fn an_operator_resets_lost_factors(backend: Backend) {
    let app = setup(backend).await;
    let browser = Browser::new(&app);
    password_sign_in(&browser, "alice", &[]).await;
    enroll_totp(&browser, app.clock.now()).await;
    let accounts = app.accounts();
    let cli = portcullis_authn::RequestInfo::default();
    let (alice, ended) = accounts.reset_mfa("alice", &cli).await.expect("reset");
    assert_eq!(ended.sessions, 1, "the session that enrolled");
    assert!(app.store.find_totp(alice.id).await.expect("totp").is_none());
    assert_eq!(app.store.count_recovery_codes(alice.id).await.expect("codes"), 0);
    assert_eq!(app.db.count("SELECT id_hash FROM sessions WHERE user_id IS NOT NULL").await, 0, "signed out");
    assert_eq!(app.db.count("SELECT id FROM audit_events WHERE kind = 'user.mfa_reset'").await, 1);
    let again = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&again, "alice", &[]).await), "/", "the password alone again");

    let marked = accounts.require_mfa("alice", true, &cli).await.expect("mark");
    assert!(app.store.find_user(marked.id).await.expect("find").expect("alice").mfa_required);
    let third = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&third, "alice", &[]).await), "/account?enroll=required&request=");
}

both_backends!(an_operator_resets_lost_factors);

async fn a_malformed_request_id_is_dropped_not_echoed(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    for raw in ["%0D%0ALocation:%20https://evil.example", "..%2F..%2Fadmin", "a%20b"] {
        let res = Browser::new(&app).get(&format!("/login/mfa?request={raw}")).await;
        assert_eq!(res.status(), 303, "{raw}");
        assert_eq!(res.headers()["location"], "/login", "{raw}");
    }
}

both_backends!(a_malformed_request_id_is_dropped_not_echoed);
