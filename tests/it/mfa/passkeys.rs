//! Acceptance 1: headless Chromium with a CDP virtual authenticator
//! (`WebAuthn.addVirtualAuthenticator`: ctap2, internal, resident key, user
//! verification) signs in with a password, registers a passkey, signs out,
//! signs in with the passkey and nothing typed, and the ID token of the OIDC
//! flow carries a passkey `amr`. The issuer is `http://localhost:PORT`:
//! browsers refuse IP addresses as WebAuthn relying-party ids.

use base64::Engine;
use portcullis_tests::oidc::{
    ClientSpec, PASSWORD, browser_dir, callback_server, create_client, create_user, pkce, redeem_code,
    require_chromium, spawn_oidc_app_with,
};
use portcullis_tests::{Backend, TestDatabase, both_backends};
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;

async fn a_passkey_signs_in_without_typing(backend: Backend) {
    let chromium = require_chromium();
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| {
        let port = s.listen.port();
        s.issuer = portcullis_core::Issuer::parse(&format!("http://localhost:{port}")).expect("issuer");
    })
    .await;
    let dave = create_user(&app, "dave", &[]).await;
    let callback = callback_server();
    create_client(&app, ClientSpec::confidential("portal", &callback)).await;
    let base = app.settings.issuer.as_str().trim_end_matches('/').to_owned();
    let authorize = |challenge: &str| {
        format!(
            "{base}/authorize?client_id=portal&redirect_uri={}&response_type=code&scope=openid&state=xyz&nonce=n1&code_challenge={challenge}&code_challenge_method=S256",
            url::form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>()
        )
    };
    let (_, autofill_challenge) = pkce();
    let (verifier, challenge) = pkce();
    let (first, second) = (authorize(&autofill_challenge), authorize(&challenge));
    let (cb, cr) = (callback.clone(), chromium.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("passkey.mjs")
            .args([base.as_str(), "dave", PASSWORD, first.as_str(), cb.as_str(), second.as_str()])
            .current_dir(browser_dir())
            .env("CHROMIUM", cr)
            .output()
            .expect("node is needed for the browser test")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("no JSON report ({e}): {stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    assert!(out.status.success() && report["ok"] == true, "passkey journey failed: {report:#}");
    assert!(report["passkeyButton"].as_str().expect("button").contains("passkey"));
    assert_eq!(report["recoveryCodes"], 10, "the first factor brings ten recovery codes");
    assert_eq!(report["passkeyRows"], 1);
    assert_eq!(report["passkeyName"], "Virtual key");
    assert_eq!(report["credentials"], 1);
    assert_eq!(report["residentKey"], true, "a discoverable credential");
    assert!(
        report["autofillCallback"].as_str().expect("autofill").starts_with(&format!("{callback}?code=")),
        "autofill signed in: {report:#}"
    );
    assert_eq!(report["signInPath"], "/login");
    assert_eq!(report["typedUsername"], "", "nothing typed");
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "no CSP violation or script error");

    let stored = app.store.list_passkeys(dave.id).await.expect("passkeys");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].last_used_at.is_some(), "the sign-in used it");

    let back = url::Url::parse(report["callback"].as_str().expect("callback")).expect("url");
    let code = back.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("code");
    assert_eq!(
        back.query_pairs().find(|(k, _)| k == "iss").map(|(_, v)| v.into_owned()),
        Some(app.settings.issuer.as_str().to_owned())
    );
    let res = redeem_code(&app, "portal", &code, &callback, &verifier).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    let payload = body["id_token"].as_str().expect("id_token").split('.').nth(1).expect("payload").to_owned();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"),
    )
    .expect("claims");
    assert_eq!(claims["sub"], dave.id.to_string());
    assert_eq!(
        claims["amr"],
        serde_json::json!(["hwk", "user", "mfa"]),
        "a device-bound passkey with user verification"
    );
    assert_eq!(claims["acr"], "urn:portcullis:acr:phr");
    assert_eq!(app.db.count("SELECT id FROM audit_events WHERE kind = 'passkey.added'").await, 1);
}

both_backends!(a_passkey_signs_in_without_typing);
