//! Signing through a built key set: what it signs verifies with the published
//! key (josekit's verifier and our own `verify_jwt`), and nothing tampered does.

use super::*;
use crate::material::generate;
use josekit::jws::ES256;
use time::OffsetDateTime;

/// A key set with one active key per algorithm in `algs`, sealed and
/// unsealed as stored keys are, and the private JWKs.
fn active_set_and_private_keys(algs: &[Algorithm]) -> (KeySet, Vec<Map<String, Value>>) {
    let kek = Kek::generate();
    let mut private = Vec::new();
    let rows: Vec<SigningKeyRow> = algs
        .iter()
        .map(|&alg| {
            let key = generate(alg).expect("generate");
            private.push(serde_json::from_str(&key.private_jwk).expect("json"));
            SigningKeyRow {
                kid: key.kid.clone(),
                alg: alg.as_str().into(),
                state: SigningKeyState::Active,
                created_at: OffsetDateTime::UNIX_EPOCH,
                activates_at: OffsetDateTime::UNIX_EPOCH,
                retired_at: None,
                public_jwk: key.public_jwk,
                sealed_private_key: kek.seal(&key.kid, key.private_jwk.as_bytes()).expect("seal"),
            }
        })
        .collect();
    (KeySet::build(&rows, &kek, None).expect("build"), private)
}

fn active_set(algs: &[Algorithm]) -> KeySet {
    active_set_and_private_keys(algs).0
}

fn claims(i: usize) -> Map<String, Value> {
    let Value::Object(claims) = serde_json::json!({
        "iss": "https://id.example.com",
        "sub": "user-1",
        "aud": "https://api.example.com",
        "client_id": "client-1",
        "scope": "openid api",
        "iat": 1_767_225_600,
        "exp": 1_767_229_200,
        "jti": format!("{i:032x}"),
    }) else {
        unreachable!("an object literal")
    };
    claims
}

/// The published JWK of `alg`'s active key, from the served JWKS document.
fn published(set: &KeySet, alg: Algorithm) -> Jwk {
    let jwks: Value = serde_json::from_slice(&set.jwks()).expect("jwks");
    let kid = set.active_kid(alg).expect("active");
    let key = jwks["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == kid).expect("published");
    Jwk::from_map(key.as_object().expect("object").clone()).expect("jwk")
}

fn signature_bytes(jwt: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(jwt.rsplit('.').next().expect("signature")).expect("base64url")
}

#[test]
fn es256_tokens_verify_with_the_published_key() {
    let set = active_set(&[Algorithm::Es256]);
    let verifier = ES256.verifier_from_jwk(&published(&set, Algorithm::Es256)).expect("verifier");
    for i in 0..2000 {
        let jwt = set.sign_jwt(Algorithm::Es256, "at+jwt", &claims(i)).expect("sign");
        assert_eq!(signature_bytes(&jwt).len(), 64, "{jwt}");
        let (payload, header) =
            josekit::jwt::decode_with_verifier(&jwt, &verifier).expect("josekit verifies");
        assert_eq!(payload.claims_set(), &claims(i));
        assert_eq!(header.algorithm(), Some("ES256"));
        assert_eq!(header.key_id(), set.active_kid(Algorithm::Es256));
        assert_eq!(header.token_type(), Some("at+jwt"));
        let ours = set.verify_jwt(&jwt).expect("verify_jwt");
        assert_eq!(
            (ours.alg, ours.typ.as_deref(), ours.claims),
            (Algorithm::Es256, Some("at+jwt"), claims(i))
        );
    }
}

#[test]
fn a_tampered_token_fails_verification() {
    let set = active_set(&[Algorithm::Es256]);
    let jwt = set.sign_jwt(Algorithm::Es256, "at+jwt", &claims(1)).expect("sign");
    let [header, _, signature] = jwt.split('.').collect::<Vec<_>>()[..] else { panic!("three parts: {jwt}") };
    let other = URL_SAFE_NO_PAD.encode(Value::Object(claims(2)).to_string());
    let tampered = format!("{header}.{other}.{signature}");
    assert!(matches!(set.verify_jwt(&tampered), Err(KeyError::InvalidToken(_))));
    let verifier = ES256.verifier_from_jwk(&published(&set, Algorithm::Es256)).expect("verifier");
    assert!(josekit::jwt::decode_with_verifier(&tampered, &verifier).is_err());
    assert!(set.verify_jwt(&jwt).is_ok());
}

#[test]
fn every_algorithm_signs_what_it_publishes_and_debug_shows_no_key() {
    let (set, private) = active_set_and_private_keys(&Algorithm::ALL);
    for alg in Algorithm::ALL {
        let jwt = set.sign_jwt(alg, "JWT", &claims(0)).expect("sign");
        let verified = set.verify_jwt(&jwt).expect("verify");
        assert_eq!((verified.alg, verified.kid.as_deref()), (alg, set.active_kid(alg)));
    }
    let debug = format!("{set:?}");
    assert!(debug.contains("Es256Key([redacted])"), "{debug}");
    for jwk in &private {
        for member in ["d", "p", "q", "dp", "dq", "qi"] {
            if let Some(Value::String(secret)) = jwk.get(member) {
                assert!(!debug.contains(secret.as_str()), "{member} shown: {debug}");
            }
        }
    }
}
