//! The cost of signing an RFC 9068 access token with ES256: through
//! [`KeySet::sign_jwt`], and through a josekit signer (`EVP_DigestSignInit`
//! and a DER round trip per token) for comparison.
//!
//! ```sh
//! cargo run --release -p portcullis-keys --example es256_sign_rate -- [TOKENS]
//! ```
//!
//! Prints one JSON line: `{"tokens": N, "keyset_us": …, "josekit_us": …}`
//! (µs per token, single-threaded, each the best of three rounds).

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, JwsSigner};
use portcullis_keys::{Algorithm, Kek, KeyError, KeySet, TokenSigner};
use portcullis_store::{SigningKeyRow, SigningKeyState};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// A typical access token's claims (RFC 9068 §2.2).
fn claims(i: u64) -> Map<String, Value> {
    let Value::Object(claims) = json!({
        "iss": "https://id.example.com",
        "sub": "5b0b3a3e-8f6a-4c1e-9d2b-0c6f1e9a7d41",
        "aud": "https://api.example.com",
        "client_id": "bench",
        "scope": "openid profile email api",
        "iat": 1_767_225_600 + i,
        "exp": 1_767_229_200 + i,
        "jti": format!("{i:032x}"),
    }) else {
        unreachable!("an object literal")
    };
    claims
}

/// The JWT of `claims` signed by `signer`, written as `KeySet::sign_jwt` writes it.
fn josekit_jwt(signer: &dyn JwsSigner, kid: &str, claims: &Map<String, Value>) -> Result<String, KeyError> {
    let crypto = |e: &dyn std::fmt::Display| KeyError::Crypto(e.to_string());
    let header = serde_json::to_vec(&json!({ "alg": "ES256", "kid": kid, "typ": "at+jwt" }))
        .map_err(|e| crypto(&e))?;
    let payload = serde_json::to_vec(claims).map_err(|e| crypto(&e))?;
    let mut jwt = URL_SAFE_NO_PAD.encode(header);
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut jwt);
    let signature = signer.sign(jwt.as_bytes()).map_err(|e| crypto(&e))?;
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
    Ok(jwt)
}

/// The best µs per token of three rounds of `tokens` calls of `sign`.
fn per_token(tokens: u64, mut sign: impl FnMut(u64) -> Result<String, KeyError>) -> Result<f64, KeyError> {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        for i in 0..tokens {
            std::hint::black_box(sign(i)?);
        }
        best = best.min(started.elapsed().as_secs_f64() * 1e6 / tokens as f64);
    }
    Ok(best)
}

#[allow(clippy::print_stdout)] // the example's output is its result
fn main() -> Result<(), KeyError> {
    let tokens: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let mut jwk = Jwk::generate_ec_key(EcCurve::P256).map_err(|e| KeyError::Crypto(e.to_string()))?;
    jwk.set_key_id("bench");
    let public = jwk.to_public_key().map_err(|e| KeyError::Crypto(e.to_string()))?;
    let kek = Kek::generate();
    let row = SigningKeyRow {
        kid: "bench".into(),
        alg: Algorithm::Es256.as_str().into(),
        state: SigningKeyState::Active,
        created_at: OffsetDateTime::UNIX_EPOCH,
        activates_at: OffsetDateTime::UNIX_EPOCH,
        retired_at: None,
        public_jwk: public.to_string(),
        sealed_private_key: kek.seal("bench", jwk.to_string().as_bytes())?,
    };
    let set = KeySet::build(&[row], &kek, None)?;
    let josekit = ES256.signer_from_jwk(&jwk).map_err(|e| KeyError::Crypto(e.to_string()))?;

    let keyset_us = per_token(tokens, |i| set.sign_jwt(Algorithm::Es256, "at+jwt", &claims(i)))?;
    let josekit_us = per_token(tokens, |i| josekit_jwt(&josekit, "bench", &claims(i)))?;
    println!("{{\"tokens\": {tokens}, \"keyset_us\": {keyset_us:.2}, \"josekit_us\": {josekit_us:.2}}}");
    Ok(())
}
