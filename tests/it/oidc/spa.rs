//! Acceptance 1 of "Browser, mobile and device apps", in headless Chromium
//! (`tests/browser/spa.mjs`): a single-page app using `oidc-client-ts`,
//! served from another loopback origin than the IdP's, signs in through the
//! sign-in and consent pages, redeems its code at `/token`, reads UserInfo
//! from the page, renews with its refresh token, revokes its tokens and
//! signs out — every call to the IdP a cross-origin `fetch` that CORS must
//! allow, with no console error. The same app on an origin no client is
//! allowed gets no CORS header and fails: the console says the browser
//! blocked it. Without Chromium, node or the node modules (oidc-client-ts)
//! this test FAILS, it never skips.

use portcullis_core::Issuer;
use portcullis_tests::oidc::{
    ClientSpec, PASSWORD, browser_dir, create_client, create_user, free_port, require_chromium,
    spawn_oidc_app_with,
};
use portcullis_tests::{Backend, TestDatabase, both_backends};
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;

/// The console messages of the blocked app that say CORS refused `path`.
fn cors_refusals<'a>(report: &'a Value, path: &str, origin: &str) -> Vec<&'a str> {
    let messages = report["blocked"]["console"].as_array().map(Vec::as_slice).unwrap_or_default();
    messages
        .iter()
        .filter_map(|m| m["text"].as_str())
        .filter(|text| {
            text.contains("has been blocked by CORS policy")
                && text.contains("No 'Access-Control-Allow-Origin' header is present")
                && text.contains(&format!("from origin '{origin}'"))
                && text.contains(&format!("{path}'"))
        })
        .collect()
}

async fn a_single_page_app_signs_in_with_oidc_client_ts_across_origins(backend: Backend) {
    let chromium = require_chromium();
    assert!(
        browser_dir().join("node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js").exists(),
        "tests/browser/node_modules/oidc-client-ts is missing: run scripts/test (npm ci in tests/browser)"
    );
    // The IdP at http://localhost:PORT (a secure context, so its __Host-
    // session cookie works over http), the app at http://localhost:APP.
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| {
        s.issuer = Issuer::parse(&format!("http://localhost:{}", s.listen.port())).expect("issuer");
    })
    .await;
    let idp = app.address.replace("127.0.0.1", "localhost");
    let (allowed, blocked) = (free_port(), free_port());
    create_user(&app, "carol", &[]).await;
    let mut spa = ClientSpec::public("spa", &format!("http://localhost:{allowed}/callback"));
    spa.post_logout_redirect_uris = vec![format!("http://localhost:{allowed}/signed-out")];
    spa.scopes = "openid profile email offline_access".into();
    spa.require_consent = true;
    create_client(&app, spa).await;

    let args = [idp.clone(), allowed.to_string(), blocked.to_string(), "carol".into(), PASSWORD.into()];
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("spa.mjs")
            .args(args)
            .current_dir(browser_dir())
            .env("CHROMIUM", chromium)
            .output()
            .expect("node is needed for the browser test")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("no JSON report ({e}): {stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    assert!(out.status.success() && report["ok"] == true, "the SPA's journey failed: {report:#}");

    assert_eq!(report["signInPage"], format!("{idp}/login"));
    assert_eq!(report["consent"], "Allow spa app?");
    let sub = report["profile"]["sub"].as_str().expect("a subject");
    assert_eq!(report["scope"], "email offline_access openid profile", "as granted, in order");
    assert_eq!(report["hasRefreshToken"], true);
    assert_eq!(report["userinfo"]["status"], 200, "{report:#}");
    assert_eq!(report["userinfo"]["body"]["sub"], sub);
    assert_eq!(report["userinfo"]["body"]["email"], "carol@example.com");
    assert_eq!(report["renewed"]["sub"], sub);
    assert_eq!(report["renewed"]["accessTokenChanged"], true);
    assert_eq!(report["renewed"]["refreshTokenRotated"], true);
    assert_eq!(report["userinfoAfterRenewal"], 200);
    assert_eq!(report["revoked"], true);
    assert_eq!(report["signedOut"], true);
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "no CORS (or CSP) error: {report:#}");

    let grants = app.db.count("SELECT 1 FROM grants WHERE client_id = 'spa' AND revoked_at IS NULL").await;
    assert_eq!(grants, 0, "the page's revocation reached the server");
    let sessions = app.db.count("SELECT 1 FROM sessions WHERE user_id IS NOT NULL").await;
    assert_eq!(sessions, 0, "signed out at the IdP");

    // The same app on an origin no client is allowed.
    let blocked_report = &report["blocked"];
    let origin = format!("http://localhost:{blocked}");
    assert_eq!(blocked_report["hasUser"], true, "it holds the tokens");
    assert_eq!(blocked_report["discovery"]["ok"], true, "discovery answers any page: {blocked_report:#}");
    assert_eq!(blocked_report["discovery"]["value"], idp.as_str());
    assert_eq!(blocked_report["userinfo"]["ok"], false, "{blocked_report:#}");
    assert!(
        blocked_report["userinfo"]["error"].as_str().is_some_and(|e| e.contains("Failed to fetch")),
        "{blocked_report:#}"
    );
    assert_eq!(blocked_report["renewal"]["ok"], false, "{blocked_report:#}");
    let userinfo = cors_refusals(&report, "/userinfo", &origin);
    assert!(
        userinfo.iter().any(|m| m.contains("Response to preflight request")),
        "the browser blocked /userinfo at its preflight (Authorization is not a simple header): {blocked_report:#}"
    );
    assert!(
        !cors_refusals(&report, "/token", &origin).is_empty(),
        "the browser blocked /token for CORS: {blocked_report:#}"
    );
}

both_backends!(a_single_page_app_signs_in_with_oidc_client_ts_across_origins);
