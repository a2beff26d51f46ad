//! The relying party of an upstream (`authn::upstream::client`) against a
//! real upstream: another Portcullis, with a user and a confidential client.

use portcullis_authn::upstream::client::{Callback, Pending, UpstreamClient, UpstreamConfig, UpstreamError};
use portcullis_core::Clock;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, client_secret, create_client, create_user, spawn_oidc_app,
};
use portcullis_tests::{Backend, TestApp};
use std::time::Duration;

const REDIRECT: &str = "http://127.0.0.1:9/login/upstream/corp/callback";

fn config(upstream: &TestApp, client_id: &str) -> UpstreamConfig {
    UpstreamConfig {
        id: "corp".into(),
        issuer: upstream.address.clone(),
        client_id: client_id.into(),
        client_secret: client_secret(client_id),
        scopes: vec!["profile".into(), "email".into()],
        redirect_uri: REDIRECT.into(),
        timeout: Duration::from_secs(10),
        tenants: vec![],
    }
}

/// An upstream with Alice and our client there, and the client discovered.
async fn upstream() -> (TestApp, UpstreamClient, uuid::Uuid) {
    let app = spawn_oidc_app(Backend::Sqlite).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::confidential("portcullis-rp", REDIRECT)).await.expect("secret");
    let client = UpstreamClient::discover(config(&app, "portcullis-rp")).await.expect("discovery");
    (app, client, alice.id)
}

/// The query the upstream sent the browser back with.
struct Query {
    state: Option<String>,
    code: Option<String>,
    iss: Option<String>,
}

impl Query {
    fn callback(&self) -> Callback<'_> {
        Callback {
            state: self.state.as_deref(),
            code: self.code.as_deref(),
            iss: self.iss.as_deref(),
            error: None,
        }
    }
}

/// Alice signs in at the upstream; the callback's query.
async fn sign_in(app: &TestApp, client: &UpstreamClient) -> (Pending, Query) {
    let started = client.start();
    let back = Browser::new(app).authorize(started.url.as_str(), Interact::As("alice")).await.redirect();
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    let param = |name| Outcome::param(&back, name);
    (started.pending, Query { state: param("state"), code: param("code"), iss: param("iss") })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_at_the_upstream_comes_back_verified_once() {
    let (app, client, alice) = upstream().await;
    let (pending, back) = sign_in(&app, &client).await;
    let query = back.callback();

    let verified = client.finish(&pending, query).await.expect("verified");
    assert_eq!(verified.identity.issuer, app.address);
    assert_eq!(verified.identity.subject, alice.to_string());
    assert_eq!(verified.claims["preferred_username"], "alice");
    assert_eq!(verified.claims["email"], "alice@example.com");
    assert_eq!(verified.claims["aud"], "portcullis-rp");
    assert_eq!(verified.claims["nonce"].as_str(), Some(pending.nonce.as_str()));

    // The same callback again (a replay): the code is spent.
    let err = client.finish(&pending, query).await.expect_err("replayed");
    assert!(matches!(err, UpstreamError::Exchange(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_that_are_not_this_browsers_or_this_issuers_are_refused_before_the_exchange() {
    let (app, client, _) = upstream().await;
    let (pending, back) = sign_in(&app, &client).await;
    let good = back.callback();

    let refusals = [
        (Callback { state: Some("another-browsers-state"), ..good }, "state"),
        (Callback { state: None, ..good }, "state"),
        (Callback { iss: Some("https://evil.example"), ..good }, "issuer"),
        // Portcullis advertises RFC 9207's `iss`: a response without one is refused.
        (Callback { iss: None, ..good }, "issuer"),
        (Callback { code: None, error: Some("access_denied"), ..good }, "denied"),
        (Callback { code: None, error: Some("server_error"), ..good }, "refused"),
    ];
    for (query, expected) in refusals {
        let err = client.finish(&pending, query).await.expect_err(expected);
        let kind = match err {
            UpstreamError::State => "state",
            UpstreamError::Issuer => "issuer",
            UpstreamError::Denied => "denied",
            UpstreamError::Refused(_) => "refused",
            other => panic!("{expected}: {other:?}"),
        };
        assert_eq!(kind, expected, "{query:?}");
    }
    // A pending request of another upstream is not this one's.
    let other = Pending { upstream_id: "partner".into(), ..pending.clone() };
    assert!(matches!(client.finish(&other, good).await, Err(UpstreamError::State)));

    // None of those spent the code: the right callback still works, once.
    client.finish(&pending, good).await.expect("the right callback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_for_another_nonce_is_refused() {
    let (app, client, _) = upstream().await;
    let (pending, back) = sign_in(&app, &client).await;
    let query = back.callback();
    let wrong_nonce = Pending { nonce: "another-requests-nonce".into(), ..pending };
    let err = client.finish(&wrong_nonce, query).await.expect_err("wrong nonce");
    assert!(matches!(err, UpstreamError::IdToken(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_or_a_wrong_issuer_fails_discovery() {
    let closed = portcullis_tests::net::free_port();
    let unreachable = UpstreamConfig {
        issuer: format!("http://127.0.0.1:{closed}"),
        timeout: Duration::from_secs(2),
        tenants: vec![],
        ..config(&spawn_oidc_app(Backend::Sqlite).await, "portcullis-rp")
    };
    let err = UpstreamClient::discover(unreachable).await.expect_err("unreachable");
    assert!(matches!(err, UpstreamError::Discovery(_)), "{err:?}");

    // A document served at the issuer's address must name that issuer.
    let app = spawn_oidc_app(Backend::Sqlite).await;
    let trailing = UpstreamConfig { issuer: format!("{}/", app.address), ..config(&app, "portcullis-rp") };
    let err = UpstreamClient::discover(trailing).await.expect_err("another issuer");
    assert!(matches!(err, UpstreamError::Discovery(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_at_the_upstream_is_fetched_again() {
    let (app, client, alice) = upstream().await;
    // The upstream replaces its RS256 key at once, twice: the second key
    // was never published before (the first may have been, as the next key).
    let service = app.keys.service();
    let published = crate::keys::revoke::published_kids(&app).await;
    let mut kid = String::new();
    for _ in 0..2 {
        kid = service.rotate(portcullis_keys::Algorithm::Rs256, app.clock.now(), true).await.expect("rotate");
    }
    app.keys.reload().await;
    assert_eq!(app.keys.live().current().active_kid(portcullis_keys::Algorithm::Rs256), Some(kid.as_str()));
    assert!(!published.contains(&kid), "the client's JWKS lacks {kid}: {published:?}");

    let (pending, back) = sign_in(&app, &client).await;
    let query = back.callback();
    let verified = client.finish(&pending, query).await.expect("verified with the upstream's new key");
    assert_eq!(verified.identity.subject, alice.to_string());
}
