//! Acceptance 4: a relying party's back-channel endpoint receives a valid
//! logout token (checked against the JWKS) when the user signs out.

use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, create_user, hidden, pkce, redeem_code,
    spawn_oidc_app,
};
use portcullis_tests::{Backend, both_backends};
use serde_json::Value;

async fn signing_out_sends_a_verifiable_logout_token(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    let (endpoint, mut received) = portcullis_tests::oidc::backchannel_receiver();
    let cb = "http://127.0.0.1:9/cb";
    let mut spec = ClientSpec::confidential("bcl", cb);
    spec.backchannel_logout_uri = Some(endpoint);
    create_client(&app, spec).await;
    create_client(&app, ClientSpec::confidential("quiet", cb)).await;

    let browser = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let url = format!(
        "{}/authorize?client_id=bcl&redirect_uri={cb}&response_type=code&scope=openid&code_challenge={challenge}&code_challenge_method=S256&nonce=n1",
        app.address
    );
    let back = browser.authorize(&url, Interact::As("alice")).await.redirect();
    let code = Outcome::param(&back, "code").expect("code");
    let tokens: Value = redeem_code(&app, "bcl", &code, cb, &verifier).await.json().await.expect("json");
    let id_token = tokens["id_token"].as_str().expect("id token");
    let id_header = jsonwebtoken::decode_header(id_token).expect("header");
    let jwks: jsonwebtoken::jwk::JwkSet = app.get("/jwks").await.json().await.expect("jwks");
    let key_of = |kid: &str| {
        let jwk = jwks.find(kid).expect("the kid is in the JWKS");
        jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key")
    };
    let mut id_validation = jsonwebtoken::Validation::new(id_header.alg);
    id_validation.set_audience(&["bcl"]);
    id_validation.set_issuer(&[app.address.as_str()]);
    id_validation.validate_exp = false; // the manual clock is in 2026-01
    let id_claims = jsonwebtoken::decode::<Value>(
        id_token,
        &key_of(id_header.kid.as_deref().expect("kid")),
        &id_validation,
    )
    .expect("id token verifies")
    .claims;
    let sid = id_claims["sid"].as_str().expect("sid").to_owned();

    // The user signs out at Portcullis.
    let page = browser.get("/logout").await.text().await.expect("page");
    let csrf = hidden(&page, "csrf_token").expect("csrf");
    let res = browser.post("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(res.status(), 303);

    // Guard only: delivery normally takes about a second (the worker polls).
    let token = tokio::time::timeout(std::time::Duration::from_secs(60), received.recv())
        .await
        .expect("a logout token arrives")
        .expect("channel open");
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&["bcl"]);
    validation.set_issuer(&[app.address.as_str()]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "iat"]);
    let claims =
        jsonwebtoken::decode::<Value>(&token, &key_of(header.kid.as_deref().expect("kid")), &validation)
            .expect("the logout token verifies against the JWKS")
            .claims;
    assert_eq!(claims["sub"], alice.id.to_string());
    assert_eq!(claims["sid"], sid.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(), "{claims}");
    assert!(claims.get("nonce").is_none(), "a logout token never carries a nonce");
    assert!(claims["jti"].is_string());
    // Delivered once: the queue empties (the worker completes the row after
    // the RP's answer; the loop is bounded by the guard, not timed).
    let mut remaining = 1;
    for _ in 0..300 {
        remaining = app.db.count("SELECT id FROM backchannel_logouts").await;
        if remaining == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let errors = app.db.count("SELECT id FROM backchannel_logouts WHERE last_error IS NOT NULL").await;
    assert_eq!(remaining, 0, "the delivered notification leaves the queue ({errors} failed)");
    assert!(received.try_recv().is_err(), "one token per client and logout");
}

both_backends!(signing_out_sends_a_verifiable_logout_token);
