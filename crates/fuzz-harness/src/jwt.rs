//! JWS/JWT parsing. The first byte picks how the rest becomes a token:
//!
//! | byte % 7 | token |
//! |---|---|
//! | 0 | the rest, as text (what a header or form carries) |
//! | 1 | `header\npayload\nsignature`, each base64url-encoded and joined with dots |
//! | 2 | `header\npayload`, signed with our key |
//! | 3 | a payload, under our access-token header, signed with our key |
//! | 4 | a payload, under the service client's ES256 header, signed with its key |
//! | 5 | the same with its RS256 key |
//! | 6 | not a token: a client's JWKS document |
//!
//! Signed inputs pass the signature check, so the fuzzer reaches the JSON of
//! the payload and our claim rules instead of stopping at the signature.
//! Each token goes through both paths that accept JWTs from outside: the
//! access-token check of `/userinfo` and `/introspect`
//! (`access::verified_access_claims`, then the `jti` and `scope` reads of
//! `check_access_token`) and the client assertion of `private_key_jwt`
//! (`client_auth::unverified_issuer` picks the client, its JWKS is parsed
//! and verifies, `client_auth::check_assertion_claims`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_keys::ClientKeys;
use portcullis_protocol::access::verified_access_claims;
use portcullis_protocol::client_auth::{Endpoint, check_assertion_claims, unverified_issuer};
use portcullis_protocol::tokens::GRANT_CLAIM;
use portcullis_protocol::{Client, ScopeSet, TokenEndpointAuthMethod};
use serde_json::Value;

use crate::Outcome;
use crate::fixtures::{
    ACCESS_HEADER, ASSERTION_ES256_HEADER, ASSERTION_RS256_HEADER, SERVICE, fixtures, now, sign,
};

/// Runs one input (see the module documentation for its layout).
pub fn jwt(data: &[u8]) -> Outcome {
    let Some((&mode, body)) = data.split_first() else { return Outcome::Rejected };
    let f = fixtures();
    let token = match mode % 7 {
        0 => match std::str::from_utf8(body) {
            Ok(text) => text.to_owned(),
            Err(_) => return Outcome::Rejected,
        },
        1 => {
            let mut parts = body.splitn(3, |&b| b == b'\n');
            let mut next = || URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
            let (header, payload, signature) = (next(), next(), next());
            format!("{header}.{payload}.{signature}")
        }
        2 => {
            let (header, payload) = split_once(body);
            sign(f.server_signer.as_ref(), header, payload)
        }
        3 => sign(f.server_signer.as_ref(), ACCESS_HEADER.as_bytes(), body),
        4 => sign(f.client_es256_signer.as_ref(), ASSERTION_ES256_HEADER.as_bytes(), body),
        5 => sign(f.client_rs256_signer.as_ref(), ASSERTION_RS256_HEADER.as_bytes(), body),
        _ => return jwks(body),
    };
    let access = access_token_accepted(&token);
    // Introspection and revocation tell JWTs from refresh tokens by the dots.
    assert!(!access || token.split('.').count() == 3, "an access token without three parts");
    // The client is the one the assertion names, else the one `client_id` would.
    let named = unverified_issuer(&token).unwrap_or_else(|| SERVICE.to_owned());
    let assertion = f.client(&named).is_some_and(|client| assertion_accepted(&token, client, None));
    if access || assertion { Outcome::Accepted } else { Outcome::Rejected }
}

fn split_once(body: &[u8]) -> (&[u8], &[u8]) {
    match body.iter().position(|&b| b == b'\n') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &[]),
    }
}

/// Whether `/userinfo` and `/introspect` would go on to the store with
/// `token`: a valid access token of ours, with a `jti`.
fn access_token_accepted(token: &str) -> bool {
    let f = fixtures();
    let first = verified_access_claims(&f.keys, &f.issuer, now(), token);
    // The key set remembers what it verified: asking again answers the same.
    let again = verified_access_claims(&f.keys, &f.issuer, now(), token);
    match (&first, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "a remembered verification differs"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "a second check differs"),
        _ => panic!("a second check of the same token changed its mind: {first:?} then {again:?}"),
    }
    let Ok(claims) = first else { return false };
    // Our key never verifies as a client's.
    assert!(fixture_client_keys().verify(token).is_err(), "a client key verified one of our tokens");
    // The rest of `check_access_token` before the store.
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let _grant = text(GRANT_CLAIM);
    let _scopes = ScopeSet::parse(text("scope").unwrap_or("")).unwrap_or_default();
    text("jti").is_some()
}

/// Whether `assertion` authenticates `client` by `private_key_jwt` (all but
/// the single-use record of its `jti`), as `client_auth` checks it.
/// `body_client_id` is the form's `client_id`, if any.
pub(crate) fn assertion_accepted(assertion: &str, client: &Client, body_client_id: Option<&str>) -> bool {
    if client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return false;
    }
    let f = fixtures();
    // The fixture JWKS is parsed once (parsing its RSA key on every run
    // would halve the executions); any other is parsed as client_auth does.
    let keys = match client.jwks.as_deref() {
        Some(j) if j == f.client_jwks => Some(fixture_client_keys().clone()),
        other => other.and_then(|j| ClientKeys::parse(j).ok()),
    };
    let Some(verified) = keys.and_then(|k| k.verify(assertion).ok()) else { return false };
    assert!(f.keys.verify_jwt(assertion).is_err(), "a client's assertion verified as one of our tokens");
    let token = f.issuer.endpoint("/token");
    let endpoint = Endpoint { token: &token, called: &token };
    match check_assertion_claims(&verified.claims, client, body_client_id, &f.issuer, endpoint, now()) {
        Ok((key, expires)) => {
            assert!(key.starts_with(&format!("assertion:{}:", client.client_id)), "jti key {key}");
            assert!(expires > now(), "an accepted assertion expired at {expires}");
            true
        }
        Err(_) => false,
    }
}

/// A client's JWKS document, as registration (`Client::validate`) and
/// `private_key_jwt` parse it.
fn jwks(body: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(body) else { return Outcome::Rejected };
    let parsed = ClientKeys::parse(text);
    let f = fixtures();
    let mut client = f.client(SERVICE).expect("the service client").clone();
    client.jwks = Some(text.to_owned());
    assert_eq!(client.validate().is_ok(), parsed.is_ok(), "registration and parsing disagree on {text:?}");
    match parsed {
        Ok(keys) => {
            let _ = keys.verify(sample_assertion());
            Outcome::Accepted
        }
        Err(_) => Outcome::Rejected,
    }
}

/// A valid assertion of the service client, signed once.
fn sample_assertion() -> &'static str {
    static SAMPLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SAMPLE.get_or_init(crate::seeds::assertion_es256)
}

/// The service client's keys, parsed once.
fn fixture_client_keys() -> &'static ClientKeys {
    static KEYS: std::sync::OnceLock<ClientKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| ClientKeys::parse(&fixtures().client_jwks).expect("the fixture JWKS parses"))
}
