use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use portcullis_keys::{Algorithm, TokenSigner};
use portcullis_tests::{Backend, TestDatabase, both_backends, spawn_app_with};
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn claims(issuer: &str) -> Map<String, Value> {
    let claims = json!({ "iss": issuer, "sub": "user-1", "aud": "rp-1", "exp": 4_102_444_800_i64, "iat": 1_767_258_000 });
    claims.as_object().expect("object").clone()
}

fn jose_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
    }
}

/// Acceptance 4: a JWT the server signs verifies with an independent
/// implementation (the `jsonwebtoken` crate, on ring) against the served
/// JWKS, for each algorithm.
async fn tokens_verify_with_an_independent_library(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |s| s.keys.algorithms.push("EdDSA".into())).await;
    let jwks: JwkSet = app.get("/jwks").await.json().await.expect("jwks");
    let issuer = app.settings.issuer.as_str();

    for alg in Algorithm::ALL {
        let token = app.keys.live().sign_jwt(alg, "JWT", &claims(issuer)).expect("sign");

        let header = decode_header(&token).expect("header");
        assert_eq!(header.alg, jose_alg(alg));
        let kid = header.kid.expect("kid in the header");
        assert_eq!(Some(kid.as_str()), app.keys.live().current().active_kid(alg));
        let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("{alg}: {kid} not in the JWKS"));
        let key = DecodingKey::from_jwk(jwk).expect("decoding key");
        let mut validation = Validation::new(jose_alg(alg));
        validation.set_audience(&["rp-1"]);
        validation.set_issuer(&[issuer]);
        let data = decode::<Value>(&token, &key, &validation).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(data.claims["sub"], "user-1");

        // A token whose claims were swapped does not verify.
        let mut other_claims = claims(issuer);
        other_claims.insert("sub".into(), json!("admin"));
        let other = app.keys.live().sign_jwt(alg, "JWT", &other_claims).expect("sign");
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], other.split('.').nth(1).expect("payload"), parts[2]);
        assert!(decode::<Value>(&forged, &key, &validation).is_err(), "{alg}: forged token verified");
    }
}

both_backends!(tokens_verify_with_an_independent_library);
