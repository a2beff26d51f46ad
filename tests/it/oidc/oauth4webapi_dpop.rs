//! Acceptance: panva's `oauth4webapi` (npm) as a native app with DPoP
//! (RFC 9449) — code + PKCE + DPoP with the token endpoint's nonce
//! challenge, DPoP-bound UserInfo, a refresh with the same key, a refresh
//! with another key refused — driven by `tests/oidc-client/dpop.mjs`. The
//! script prints the authorization URL, the [`Browser`] signs in, and the
//! callback URL goes back on its stdin. Without node or the package this
//! test FAILS, it never skips.

use portcullis_core::Clock;
use portcullis_tests::node::{self, Script};
use portcullis_tests::oidc::{Browser, ClientSpec, Interact, create_client, create_user, spawn_oidc_app};
use portcullis_tests::{Backend, both_backends};

async fn run(backend: Backend, alg: &str) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    let redirect = "http://127.0.0.1:9/cb";
    create_client(&app, ClientSpec::public("native-app", redirect)).await;
    let env = vec![
        ("ISSUER", app.address.clone()),
        ("CLIENT_ID", "native-app".to_owned()),
        ("REDIRECT_URI", redirect.to_owned()),
        ("DPOP_ALG", alg.to_owned()),
        // The app runs on a manual clock: proofs' iat follow it.
        ("SERVER_TIME", app.clock.now().unix_timestamp().to_string()),
    ];
    let script = Script::spawn(&node::dir("oidc-client"), "oauth4webapi", "dpop.mjs", &env);
    let (script, first) = script.next_json().await;
    let authorize_url =
        first["authorize_url"].as_str().expect("the script prints the authorize URL").to_owned();
    assert!(authorize_url.starts_with(&format!("{}/", app.address)), "{authorize_url}");
    let callback = Browser::new(&app).authorize(&authorize_url, Interact::As("alice")).await.redirect();
    let report = script.answer(callback.to_string()).await;
    assert_eq!(
        report["steps"],
        serde_json::json!([
            "discovery",
            "authorize_url",
            "callback",
            "use_dpop_nonce_challenge",
            "authorization_code_grant",
            "userinfo",
            "refresh_same_key",
            "refresh_other_key_refused",
            "refresh_same_key_again",
        ])
    );
    assert_eq!(report["sub"], alice.id.to_string());
    assert_eq!(report["userinfo"]["sub"], alice.id.to_string());
}

async fn oauth4webapi_with_an_es256_dpop_key(backend: Backend) {
    run(backend, "ES256").await;
}

async fn oauth4webapi_with_an_eddsa_dpop_key(backend: Backend) {
    run(backend, "EdDSA").await;
}

both_backends!(oauth4webapi_with_an_es256_dpop_key, oauth4webapi_with_an_eddsa_dpop_key);
