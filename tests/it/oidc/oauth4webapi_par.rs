//! Acceptance (issue 17, point 2: "oauth4webapi drives PAR + code + PKCE +
//! DPoP (nonce challenge, then success)", and the resource part): panva's
//! `oauth4webapi` (npm), a confidential client, pushes an authorization
//! request (PAR, RFC 9126), sends the browser with only `client_id` and
//! `request_uri`, redeems the code with PKCE for a resource (RFC 8707) and
//! a DPoP proof (RFC 9449) — the token endpoint first answers
//! `use_dpop_nonce`, the retry with the nonce succeeds — and refreshes for
//! the resource with a proof of the same key; the access tokens are
//! `DPoP`, bound to the key (`cnf.jkt`) and their `aud` is that resource.
//! The pushed request carries no proof (Portcullis does not bind the code
//! at `/par`, RFC 9449 §10.1). Driven by `tests/oidc-client/par.mjs`: the
//! script prints the authorization URL, the [`Browser`] signs in through
//! the real pages, and the callback URL goes back on its stdin. Without
//! node or the package this test FAILS.

use std::sync::Arc;

use portcullis_core::Clock;
use portcullis_server::settings::ResourceSettings;
use portcullis_tests::node::{self, Script};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, create_client, create_user, spawn_oidc_app_with,
};
use portcullis_tests::{Backend, TestDatabase, both_backends};

const RESOURCE: &str = "https://api.example.com/";

async fn oauth4webapi_pushes_and_gets_a_token_for_a_resource(backend: Backend) {
    let api = ResourceSettings {
        identifier: RESOURCE.into(),
        scopes: vec!["api".into()],
        access_token_ttl: None,
        access_token_signing_alg: None,
    };
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| s.resources.push(api)).await;
    let alice = create_user(&app, "alice", &[]).await;
    let redirect = "http://127.0.0.1:9/cb";
    let spec = ClientSpec {
        resources: vec![RESOURCE.into()],
        require_pushed_authorization_requests: true,
        ..ClientSpec::confidential("par-rp", redirect)
    };
    let secret = create_client(&app, spec).await.expect("a confidential client has a secret");

    let env = vec![
        ("ISSUER", app.address.clone()),
        ("CLIENT_ID", "par-rp".to_owned()),
        ("CLIENT_SECRET", secret),
        ("REDIRECT_URI", redirect.to_owned()),
        ("RESOURCE", RESOURCE.to_owned()),
        // The app runs on a manual clock: the library validates exp/iat on it.
        ("SERVER_TIME", app.clock.now().unix_timestamp().to_string()),
    ];
    let rp = Script::spawn(&node::dir("oidc-client"), "oauth4webapi", "par.mjs", &env);
    let (rp, first) = rp.next_json().await;
    let authorize_url =
        first["authorize_url"].as_str().expect("the script prints the authorize URL").to_owned();
    let url = url::Url::parse(&authorize_url).expect("url");
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "only the reference goes through the browser");

    let callback = Browser::new(&app).authorize(&authorize_url, Interact::As("alice")).await.redirect();
    assert!(callback.as_str().starts_with(redirect), "{callback}");
    let report = rp.answer(callback.to_string()).await;

    assert_eq!(
        report["steps"],
        serde_json::json!([
            "discovery",
            "pushed_authorization_request",
            "authorize_url",
            "use_dpop_nonce_challenge",
            "authorization_code_grant_with_resource",
            "refresh_token_grant_with_resource",
        ])
    );
    assert_eq!(report["expires_in"], 60);
    assert_eq!(report["sub"], alice.id.to_string());
    assert_eq!(report["token_type"], "DPoP");
    assert_eq!(report["access_token_aud"], RESOURCE);
    assert_eq!(report["access_token_scope"], "api");
    let jkt = report["jkt"].as_str().expect("the script reports its key's thumbprint");
    assert_eq!(jkt.len(), 43, "a base64url SHA-256: {jkt}");
    assert_eq!(report["access_token_jkt"], jkt, "the access token is bound to the key");
    assert_eq!(report["refreshed_token_type"], "DPoP");
    assert_eq!(report["refreshed_aud"], RESOURCE);
    assert_eq!(report["refreshed_jkt"], jkt, "the refreshed access token is bound to the key");
}

both_backends!(oauth4webapi_pushes_and_gets_a_token_for_a_resource);
