//! DPoP (RFC 9449): the rules over a proof's claims, one function each,
//! called in order by [`verify_proof`]; the token endpoint's use
//! ([`token_proof`]) and a resource's ([`resource_proof`]). The proof's
//! header, key and signature are checked by `portcullis_keys::dpop`.
//!
//! - [`Nonces`]: stateless rotating server nonces (`DPoP-Nonce`).
//! - [`ReplayCache`]: each proof's `jti` is accepted once.

mod nonce;
mod replay;

pub use nonce::{NONCE_BUCKET_SECS, Nonces};
pub use replay::{DEFAULT_CAPACITY, Refusal, ReplayCache};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_keys::dpop::verify_dpop_proof;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::context::{ProtocolError, reject};
use crate::{Client, OAuthError};

/// A proof's `iat` may be this many seconds in the past.
pub const MAX_AGE_SECS: i64 = 60;
/// A proof's `iat` may be this many seconds in the future (clock skew).
pub const MAX_SKEW_SECS: i64 = 5;

/// The DPoP state of an instance: its nonces and the proofs it has seen.
#[derive(Debug)]
pub struct Dpop {
    /// The server nonces.
    pub nonces: Nonces,
    replay: ReplayCache,
}

impl Dpop {
    /// Nonces under `nonce_key` (shared by the instances), and an empty
    /// replay cache of [`DEFAULT_CAPACITY`].
    pub fn new(nonce_key: [u8; 32]) -> Self {
        Self::with_capacity(nonce_key, DEFAULT_CAPACITY)
    }

    /// As [`Dpop::new`], with a replay cache of `capacity` proofs.
    pub fn with_capacity(nonce_key: [u8; 32], capacity: usize) -> Self {
        Self { nonces: Nonces::new(nonce_key), replay: ReplayCache::new(capacity) }
    }

    /// The nonce to send in `DPoP-Nonce` at `now`.
    pub fn nonce(&self, now: OffsetDateTime) -> String {
        self.nonces.current(now)
    }
}

/// What a request brings for DPoP: the `DPoP` header values (normally
/// none or one), its method, and the endpoint's URL as published.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// Every `DPoP` header value, as received.
    pub proofs: &'a [String],
    /// The HTTP method (`POST`, `GET`).
    pub method: &'a str,
    /// The endpoint's absolute URL (`<issuer>/token`).
    pub uri: &'a str,
}

/// Whether a proof must carry the server's nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceRule {
    /// It must (the token endpoint).
    Required,
    /// It may; one it carries must be valid (the UserInfo endpoint).
    IfPresent,
}

/// The JWK SHA-256 thumbprint of the key a token is bound to (`cnf.jkt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jkt(String);

impl Jkt {
    /// The base64url thumbprint.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid<T>(description: &'static str) -> Result<T, ProtocolError> {
    reject(OAuthError::InvalidDpopProof, description)
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// At most one `DPoP` header (RFC 9449 §4.3, check 1).
pub fn single_proof<'a>(request: &DpopRequest<'a>) -> Result<Option<&'a str>, ProtocolError> {
    match request.proofs {
        [] => Ok(None),
        [one] => Ok(Some(one.as_str())),
        _ => invalid("more than one DPoP header"),
    }
}

/// `htm` is the request's method (check 8).
pub fn check_htm(claims: &Map<String, Value>, method: &str) -> Result<(), ProtocolError> {
    match text(claims, "htm") {
        Some(htm) if htm == method => Ok(()),
        _ => invalid("htm does not match the request's method"),
    }
}

/// An absolute URL without its query and fragment (RFC 9449 §4.3: `htu`
/// is compared so).
fn without_query(uri: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}

/// `htu` is the endpoint's URL, query and fragment ignored (check 9).
pub fn check_htu(claims: &Map<String, Value>, uri: &str) -> Result<(), ProtocolError> {
    let htu = text(claims, "htu").and_then(without_query);
    match (htu, without_query(uri)) {
        (Some(htu), Some(uri)) if htu == uri => Ok(()),
        _ => invalid("htu does not match the endpoint"),
    }
}

/// `iat` is within [`MAX_AGE_SECS`] before and [`MAX_SKEW_SECS`] after
/// `now` (check 11); returns it.
pub fn check_iat(claims: &Map<String, Value>, now: OffsetDateTime) -> Result<i64, ProtocolError> {
    let now = now.unix_timestamp();
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat >= now - MAX_AGE_SECS && iat <= now + MAX_SKEW_SECS => Ok(iat),
        Some(_) => invalid("the proof's iat is outside the accepted window"),
        None => invalid("the proof has no iat"),
    }
}

/// `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the access token.
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// With an access token (at a resource), `ath` is its hash (check 12).
pub fn check_ath(claims: &Map<String, Value>, access_token: Option<&str>) -> Result<(), ProtocolError> {
    let Some(token) = access_token else { return Ok(()) };
    match text(claims, "ath") {
        Some(given) if given == ath(token) => Ok(()),
        _ => invalid("ath does not match the access token"),
    }
}

/// The nonce (check 10, §8): `use_dpop_nonce` when required and missing,
/// or when present and not current.
pub fn check_nonce(
    claims: &Map<String, Value>,
    nonces: &Nonces,
    now: OffsetDateTime,
    rule: NonceRule,
) -> Result<(), ProtocolError> {
    match (claims.get("nonce"), rule) {
        (None, NonceRule::IfPresent) => Ok(()),
        (Some(Value::String(nonce)), _) if nonces.accepts(nonce, now) => Ok(()),
        _ => reject(OAuthError::UseDpopNonce, "the proof must carry the server's current nonce"),
    }
}

/// `jti` is present and not seen before with this key (check 11, §11.1);
/// it is remembered while `iat` passes [`check_iat`].
pub fn check_jti(
    dpop: &Dpop,
    claims: &Map<String, Value>,
    jkt: &str,
    iat: i64,
    now: OffsetDateTime,
) -> Result<(), ProtocolError> {
    let Some(jti) = text(claims, "jti").filter(|j| !j.is_empty() && j.len() <= 256) else {
        return invalid("the proof has no jti");
    };
    match dpop.replay.record(jkt, jti, iat + MAX_AGE_SECS, now.unix_timestamp()) {
        Ok(()) => Ok(()),
        Err(Refusal::Replayed) => invalid("the proof was already used"),
        Err(Refusal::Full) => {
            tracing::warn!("the DPoP replay cache is full; proofs are refused until entries expire");
            reject(OAuthError::TemporarilyUnavailable, "too many DPoP proofs at once")
        }
    }
}

/// Verifies one proof for `request` — header, key and signature, then
/// `htm`, `htu`, `iat`, `ath` (when `access_token` is given), the nonce
/// and `jti`, in that order — and returns its key's thumbprint.
pub fn verify_proof(
    dpop: &Dpop,
    now: OffsetDateTime,
    proof: &str,
    request: &DpopRequest<'_>,
    nonce: NonceRule,
    access_token: Option<&str>,
) -> Result<Jkt, ProtocolError> {
    let Ok(proof) = verify_dpop_proof(proof) else {
        return invalid("the DPoP proof is malformed or its signature is invalid");
    };
    let claims = &proof.claims;
    check_htm(claims, request.method)?;
    check_htu(claims, request.uri)?;
    let iat = check_iat(claims, now)?;
    check_ath(claims, access_token)?;
    check_nonce(claims, &dpop.nonces, now, nonce)?;
    check_jti(dpop, claims, &proof.jkt, iat, now)?;
    Ok(Jkt(proof.jkt))
}

/// At the token endpoint (RFC 9449 §5): the key the tokens are bound to,
/// if the request carries a proof (which must have the server's nonce). A
/// client registered with `dpop_bound_access_tokens` must send one.
pub fn token_proof(
    dpop: &Dpop,
    now: OffsetDateTime,
    client: &Client,
    request: &DpopRequest<'_>,
) -> Result<Option<Jkt>, ProtocolError> {
    match single_proof(request)? {
        Some(proof) => verify_proof(dpop, now, proof, request, NonceRule::Required, None).map(Some),
        None if client.dpop_bound_access_tokens => invalid("this client must send a DPoP proof"),
        None => Ok(None),
    }
}

/// A refresh token bound to a key is used only with a proof by that key
/// (RFC 9449 §5): a stolen refresh token alone is useless.
pub fn check_refresh_binding(bound: Option<&str>, jkt: Option<&Jkt>) -> Result<(), ProtocolError> {
    match (bound, jkt) {
        (None, _) => Ok(()),
        (Some(bound), Some(jkt)) if bound == jkt.as_str() => Ok(()),
        (Some(_), Some(_)) => reject(OAuthError::InvalidGrant, "the refresh token is bound to another key"),
        (Some(_), None) => reject(OAuthError::InvalidGrant, "the refresh token needs a DPoP proof"),
    }
}

/// How an access token was presented at a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer` (or the form body).
    Bearer,
    /// `Authorization: DPoP`.
    Dpop,
}

/// At a resource (RFC 9449 §7): a token bound to a key (`cnf.jkt`) is
/// presented with the `DPoP` scheme and a proof by that key for this
/// request and this token; an unbound token is not presented as DPoP.
pub fn resource_proof(
    dpop: &Dpop,
    now: OffsetDateTime,
    bound: Option<&str>,
    scheme: Scheme,
    token: &str,
    request: &DpopRequest<'_>,
) -> Result<(), ProtocolError> {
    match (bound, scheme) {
        (None, Scheme::Bearer) => Ok(()),
        (None, Scheme::Dpop) => reject(OAuthError::InvalidToken, "the token is not DPoP-bound"),
        (Some(_), Scheme::Bearer) => {
            reject(OAuthError::InvalidToken, "a DPoP-bound token must be presented with the DPoP scheme")
        }
        (Some(bound), Scheme::Dpop) => {
            let Some(proof) = single_proof(request)? else { return invalid("a DPoP proof is required") };
            let jkt = verify_proof(dpop, now, proof, request, NonceRule::IfPresent, Some(token))?;
            if jkt.as_str() != bound {
                return invalid("the proof's key is not the token's");
            }
            Ok(())
        }
    }
}

/// The `cnf.jkt` of access-token claims, if bound.
pub fn bound_key(claims: &Map<String, Value>) -> Option<&str> {
    claims.get("cnf").and_then(|cnf| cnf.get("jkt")).and_then(Value::as_str)
}

#[cfg(test)]
mod tests;
