//! The security review of the sign-in journey (issue 14): one test per
//! finding and per tightening, each on both backends, and the properties
//! of the journey as a whole.
//!
//! | finding | test |
//! |---|---|
//! | 1 reset link skips the second factor | `recovery::a_reset_link_never_stands_in_for_a_second_factor`, `recovery::an_admin_without_a_factor_gets_no_mailed_link` |
//! | 2 magic link skips the second factor | `recovery::a_magic_link_never_stands_in_for_a_second_factor` |
//! | 3 unlimited TOTP guessing | `throttle::second_factor_guesses_have_their_own_counter` |
//! | 4 check-then-count lockout | `throttle::parallel_wrong_passwords_are_hashed_at_most_the_limit`, `throttle::parallel_reservations_admit_exactly_the_limit` |
//! | 5 reset link outlives email and password changes | `recovery::a_reset_link_dies_with_a_password_change`, `recovery::a_reset_link_dies_with_an_email_change` |
//! | 6 assertion `aud` by prefix | `security::client_assertion_audience::only_exact_audiences_authenticate_a_client`, `portcullis-protocol` `client_auth::tests::the_audience_must_be_exactly_the_issuer_or_an_endpoint_url` |
//! | 7 a success clears the IP counter | `throttle::no_success_clears_the_ip_counter` |
//! | 8 lockout per name typed | `throttle::lockouts_count_per_account_not_per_name_typed`, `recovery::reset_mails_are_limited_per_account_not_per_name_typed` |
//! | 9 no common-password blocklist | `security::common_passwords::the_setup_page_refuses_a_common_password`, `portcullis-authn` `policy::tests::common_passwords_are_refused_whatever_their_case` |
//! | 10 "end everything" incomplete | `account::a_password_change_ends_offline_grants_too`, `account::removing_a_factor_ends_offline_grants_too`, `account::disabling_a_user_sends_back_channel_logouts` |
//! | 11 uneven work for known addresses | `recovery::link_requests_do_the_same_work_for_known_and_unknown_addresses` |
//! | 12 email-change mails not limited | `recovery::email_change_mails_are_limited` |
//! | 13 data files 0644, data dir not tightened (SQLite only) | `security::file_modes::sqlite_a_new_data_dir_and_every_file_in_it_are_private`, `security::file_modes::sqlite_an_existing_data_dir_and_database_open_to_others_are_tightened` |
//! | 14 no request-body deadline | `security::body_timeout::a_body_that_never_arrives_gets_408_and_a_closed_connection` |
//! | 15 weak configured client secrets | `portcullis-server` `settings::clients::tests::weak_secrets_are_refused_naming_the_key`, `portcullis-server` `cli` binary `process::config_check_exits_2_on_a_weak_client_secret` |
//! | 15 client authentication not throttled | `client_auth::failed_client_authentications_back_off`, `client_auth::parallel_wrong_secrets_cannot_slip_past` |
//! | 16 `prompt=none` for an admin who must enroll | `interaction::prompt_none_for_an_admin_who_must_enroll_is_interaction_required` |
//! | tightening: password change on `/account` | `account::a_password_change_needs_the_current_password_or_a_recent_second_factor` |
//! | tightening: earlier setup links | `security::setup_links::a_new_setup_link_invalidates_the_earlier_ones` |
//! | tightening: HSTS for an https issuer | `security::hsts::sent_for_https_issuer`, `security::hsts::not_sent_for_http_issuer` |
//! | tightening: database fault | `interaction::a_database_fault_loading_a_pending_request_is_an_error_page` |
//! | acceptance 2 (properties) | `journey::the_journey_keeps_its_invariants` |
//! | acceptance 3 (50 parallel) | `throttle::parallel_wrong_passwords_are_hashed_at_most_the_limit` |

mod account;
mod client_auth;
mod interaction;
mod journey;
mod recovery;
pub(crate) mod throttle;

use portcullis_store::LockoutPolicy;
use portcullis_tests::TestApp;
use portcullis_tests::oidc::{Browser, hidden, pkce};
use time::Duration;

/// The redirect URI of the tests' client `rp`.
pub(crate) const CB: &str = "http://127.0.0.1:9/cb";

/// An authorization request of `rp` for `scope` (state `s`, PKCE S256,
/// `prompt` if given): the PKCE verifier and the URL.
pub(crate) fn authorize_url(app: &TestApp, scope: &str, prompt: Option<&str>) -> (String, String) {
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
    if let Some(prompt) = prompt {
        url.query_pairs_mut().append_pair("prompt", prompt);
    }
    (verifier, url.to_string())
}

/// A back-off of `max_failures`, 30 s doubling to 5 minutes, a 15-minute window.
pub(crate) fn lockout(max_failures: u32) -> LockoutPolicy {
    LockoutPolicy {
        max_failures,
        base_delay: Duration::seconds(30),
        max_delay: Duration::seconds(300),
        window: Duration::seconds(900),
    }
}

/// The location of a redirect.
pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// How many argon2 hashes or verifications the app ran (its histogram's count).
pub(crate) async fn hashes(app: &TestApp) -> u64 {
    let body = reqwest::get(format!("{}/metrics", app.metrics_address))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    body.lines()
        .find_map(|l| l.strip_prefix("portcullis_password_hash_duration_seconds_count "))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

/// A throttle counter's failures (0 when absent).
pub(crate) async fn failures(app: &TestApp, key: &str) -> u32 {
    app.store.find_rate_limit(key).await.expect("rate limit").map_or(0, |r| r.failures)
}

/// Posts a password on `/login` in `browser` (a fresh page's CSRF token).
pub(crate) async fn post_password(browser: &Browser, login: &str, password: &str) -> reqwest::Response {
    let page = browser.get("/login").await.text().await.expect("login page");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    browser.post("/login", &[("csrf_token", &csrf), ("username", login), ("password", password)]).await
}

/// Posts a second factor on `/login/mfa` in `browser`.
pub(crate) async fn post_code(browser: &Browser, method: &str, code: &str) -> reqwest::Response {
    let page = browser.get("/login/mfa").await.text().await.expect("mfa page");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    browser.post("/login/mfa", &[("csrf_token", &csrf), ("method", method), ("code", code)]).await
}

/// A six-digit code that is not `right`.
pub(crate) fn wrong_code(right: &str) -> &'static str {
    if right == "000000" { "111111" } else { "000000" }
}
