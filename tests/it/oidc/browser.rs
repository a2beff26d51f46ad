//! A real browser (headless Chromium) through the authorization code flow:
//! sign-in page, consent page, redirect to the client — under the pages'
//! CSP, which must let the form submissions end at the verified redirect
//! URI. `scripts/test` installs Chromium and playwright-core; without them
//! this test FAILS, it never skips.

use portcullis_tests::oidc::{
    ClientSpec, PASSWORD, browser_dir, callback_server, create_client, create_user, pkce, redeem_code,
    require_chromium, spawn_oidc_app,
};
use portcullis_tests::{Backend, both_backends};
use std::process::Command;

async fn chromium_signs_in_consents_and_reaches_the_client(backend: Backend) {
    let chromium = require_chromium();
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "carol", &[]).await;
    let callback = callback_server();
    let mut spec = ClientSpec::confidential("portal", &callback);
    spec.require_consent = true;
    create_client(&app, spec).await;
    let (verifier, challenge) = pkce();
    // localhost is a secure context, so the Secure __Host- cookie works over http.
    let port = app.address.rsplit(':').next().expect("port").to_owned();
    let authorize = format!(
        "http://localhost:{port}/authorize?client_id=portal&redirect_uri={}&response_type=code&scope=openid%20email&state=xyz&code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>()
    );
    let (cb, cr) = (callback.clone(), chromium.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("authorize.mjs")
            .args([authorize.as_str(), cb.as_str(), "carol", PASSWORD])
            .current_dir(browser_dir())
            .env("CHROMIUM", cr)
            .output()
            .expect("node is needed for the browser test")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!("no JSON report ({e}): {stdout}\n{}", String::from_utf8_lossy(&out.stderr))
        });
    assert!(out.status.success() && report["ok"] == true, "browser flow failed: {report:#}");
    assert_eq!(report["signInPath"], "/login");
    assert_eq!(report["consentHeading"], "Allow portal app?");
    assert_eq!(report["callbackBody"], "callback reached");
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "no CSP violation");
    let back = url::Url::parse(report["callback"].as_str().expect("callback")).expect("url");
    let param = |n: &str| back.query_pairs().find(|(k, _)| k == n).map(|(_, v)| v.into_owned());
    assert_eq!(param("state").as_deref(), Some("xyz"));
    assert_eq!(param("iss").as_deref(), Some(app.address.as_str()));
    let code = param("code").expect("code");
    let res = redeem_code(&app, "portal", &code, &callback, &verifier).await;
    assert_eq!(res.status(), 200, "the code from the browser redeems");
}

both_backends!(chromium_signs_in_consents_and_reaches_the_client);
