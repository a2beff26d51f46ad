//! Acceptance: panva's `openid-client` (npm, an OpenID-certified relying
//! party library) against the running server — discovery, code + PKCE +
//! nonce with ID-token validation, userinfo, refresh with rotation,
//! introspection, revocation — driven by `tests/oidc-client/rp.mjs`.
//!
//! The script cannot drive a browser: it prints the authorization URL, the
//! [`Browser`] signs in through the real pages, and the callback URL goes back
//! on the script's stdin. `scripts/test` installs the package (`npm ci` in
//! `tests/oidc-client`); without node or it this test FAILS, it never skips.

use portcullis_core::Clock;
use portcullis_protocol::TokenEndpointAuthMethod;
use portcullis_tests::node::{self, Script};
use portcullis_tests::oidc::{Browser, ClientSpec, Interact, create_client, create_user, spawn_oidc_app};
use portcullis_tests::{Backend, both_backends};

async fn run_openid_client(backend: Backend, auth_method: TokenEndpointAuthMethod, auth_name: &str) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    let redirect = "http://127.0.0.1:9/cb";
    let spec = ClientSpec { auth_method, ..ClientSpec::confidential("node-rp", redirect) };
    let secret = create_client(&app, spec).await.expect("a confidential client has a secret");

    let env = vec![
        ("ISSUER", app.address.clone()),
        ("CLIENT_ID", "node-rp".to_owned()),
        ("CLIENT_SECRET", secret),
        ("REDIRECT_URI", redirect.to_owned()),
        ("CLIENT_AUTH", auth_name.to_owned()),
        // The app runs on a manual clock: the library validates exp/iat on it.
        ("SERVER_TIME", app.clock.now().unix_timestamp().to_string()),
    ];
    let rp = Script::spawn(&node::dir("oidc-client"), "openid-client", "rp.mjs", &env);

    let (rp, first) = rp.next_json().await;
    let authorize_url =
        first["authorize_url"].as_str().expect("the script prints the authorize URL").to_owned();
    assert!(authorize_url.starts_with(&format!("{}/", app.address)), "{authorize_url}");

    let callback = Browser::new(&app).authorize(&authorize_url, Interact::As("alice")).await.redirect();
    assert!(callback.as_str().starts_with(redirect), "{callback}");

    let report = rp.answer(callback.to_string()).await;

    assert_eq!(report["sub"], alice.id.to_string());
    assert_eq!(
        report["steps"],
        serde_json::json!([
            "discovery",
            "authorize_url",
            "authorization_code_grant",
            "userinfo",
            "refresh_token_grant",
            "userinfo_after_refresh",
            "introspect_access_token",
            "introspect_refresh_token",
            "revoke_refresh_token",
            "introspect_revoked_refresh_token",
            "refresh_with_revoked_token_refused",
        ])
    );
    assert_eq!(report["id_token"]["azp"], "node-rp");
    assert_eq!(report["userinfo"]["preferred_username"], "alice");
    assert_eq!(report["userinfo"]["email"], "alice@example.com");
    assert_eq!(report["access_token_introspection"]["client_id"], "node-rp");
    assert_eq!(report["refresh_token_introspection"]["sub"], alice.id.to_string());
}

async fn openid_client_with_client_secret_basic(backend: Backend) {
    run_openid_client(backend, TokenEndpointAuthMethod::ClientSecretBasic, "client_secret_basic").await;
}

async fn openid_client_with_client_secret_post(backend: Backend) {
    run_openid_client(backend, TokenEndpointAuthMethod::ClientSecretPost, "client_secret_post").await;
}

both_backends!(openid_client_with_client_secret_basic, openid_client_with_client_secret_post);
