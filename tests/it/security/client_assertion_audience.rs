//! `private_key_jwt`: an assertion's `aud` must be exactly our issuer, our
//! token endpoint URL, or the URL of the endpoint being called (RFC 7523 §3,
//! OIDC Core §9) — never a URL that merely starts with the issuer and ends
//! in `/token`, which another server's URL can (issue 14, finding 6).

use josekit::jws::{ES256, JwsHeader, JwsSigner};
use josekit::jwt::JwtPayload;
use portcullis_core::Clock;
use portcullis_protocol::{GrantType, TokenEndpointAuthMethod};
use portcullis_tests::oidc::{ClientSpec, create_client, spawn_oidc_app};
use portcullis_tests::{Backend, TestApp, both_backends};
use serde_json::Value;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Registers the `private_key_jwt` client `signed` and returns its signer.
async fn signed_client(app: &TestApp) -> impl JwsSigner {
    let pair = ES256.generate_key_pair().expect("key pair");
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("k1");
    let jwks =
        serde_json::json!({ "keys": [serde_json::to_value(public.as_ref()).expect("jwk")] }).to_string();
    let mut spec = ClientSpec::confidential("signed", "https://rp.example/cb");
    spec.auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
    spec.grants = vec![GrantType::ClientCredentials];
    spec.redirect_uris = vec![];
    spec.scopes = "api".into();
    spec.jwks = Some(jwks);
    create_client(app, spec).await;
    ES256.signer_from_jwk(&pair.to_jwk_private_key()).expect("signer")
}

/// A fresh assertion (its own `jti`) for `aud`.
fn assertion(app: &TestApp, signer: &impl JwsSigner, aud: &str) -> String {
    let now = app.clock.now().unix_timestamp();
    let mut payload = JwtPayload::new();
    payload.set_issuer("signed");
    payload.set_subject("signed");
    payload.set_audience(vec![aud]);
    payload.set_jwt_id(uuid::Uuid::new_v4().to_string());
    payload.set_claim("exp", Some(serde_json::json!(now + 60))).expect("exp");
    let mut header = JwsHeader::new();
    header.set_key_id("k1");
    josekit::jwt::encode_with_signer(&payload, &header, signer).expect("sign")
}

/// POSTs `form` plus the assertion to `path`: (status, JSON body).
async fn post(app: &TestApp, path: &str, assertion: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut form = form.to_vec();
    form.extend([("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion)]);
    let res = app.client.post(format!("{}{path}", app.address)).form(&form).send().await.expect("post");
    (res.status().as_u16(), res.json().await.expect("json"))
}

async fn only_exact_audiences_authenticate_a_client(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let signer = signed_client(&app).await;
    let issuer = app.settings.issuer.as_str().to_owned();
    let grant = [("grant_type", "client_credentials")];

    // Accepted at the token endpoint: the issuer, the token endpoint URL.
    let mut access = String::new();
    for aud in [issuer.clone(), format!("{issuer}/token")] {
        let (status, body) = post(&app, "/token", &assertion(&app, &signer, &aud), &grant).await;
        assert_eq!(status, 200, "aud {aud}: {body}");
        access = body["access_token"].as_str().expect("access token").to_owned();
    }
    // Refused: URLs that start with the issuer and end in /token, and the
    // URL of another endpoint.
    for aud in [
        format!("{issuer}.attacker.example/token"),
        format!("{issuer}/evil/token"),
        format!("{issuer}/introspect"),
        format!("{issuer}/token/"),
    ] {
        let (status, body) = post(&app, "/token", &assertion(&app, &signer, &aud), &grant).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "aud {aud}: {body}");
    }

    // At the introspection endpoint, its own URL is accepted too.
    let token = [("token", access.as_str())];
    for aud in [issuer.clone(), format!("{issuer}/token"), format!("{issuer}/introspect")] {
        let (status, body) = post(&app, "/introspect", &assertion(&app, &signer, &aud), &token).await;
        assert_eq!((status, body["active"].as_bool()), (200, Some(true)), "aud {aud}: {body}");
    }
    for aud in [format!("{issuer}.attacker.example/introspect"), format!("{issuer}/revoke")] {
        let (status, body) = post(&app, "/introspect", &assertion(&app, &signer, &aud), &token).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "aud {aud}: {body}");
    }
}

both_backends!(only_exact_audiences_authenticate_a_client);
