//! Verifying JWS-signed JWTs: our own tokens against the published keys
//! (parsed once per key set), and a client's assertion against the JWKS it
//! registered (RFC 7523, `private_key_jwt`). Only signature and header are
//! checked here; claims (`exp`, `aud`, …) are the caller's rules.

use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{ES256, EdDSA, JwsHeader, JwsVerifier, RS256};
use serde_json::{Map, Value};
use std::sync::Arc;

use crate::{Algorithm, KeyError};

/// A verified token: its claims and the header values callers check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJwt {
    /// The payload.
    pub claims: Map<String, Value>,
    /// The header's `alg`.
    pub alg: Algorithm,
    /// The header's `typ`, if any.
    pub typ: Option<String>,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
}

/// A parsed public key able to verify one algorithm.
#[derive(Clone)]
pub(crate) struct Verifier {
    pub(crate) alg: Algorithm,
    pub(crate) verifier: Arc<dyn JwsVerifier>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("alg", &self.alg).finish_non_exhaustive()
    }
}

/// Parses a public JWK into a verifier for `alg`.
pub(crate) fn verifier(jwk: &Jwk, alg: Algorithm) -> Result<Verifier, KeyError> {
    let verifier: Arc<dyn JwsVerifier> = match alg {
        Algorithm::Rs256 => Arc::new(RS256.verifier_from_jwk(jwk).map_err(KeyError::crypto)?),
        Algorithm::Es256 => Arc::new(ES256.verifier_from_jwk(jwk).map_err(KeyError::crypto)?),
        Algorithm::EdDsa => Arc::new(EdDSA.verifier_from_jwk(jwk).map_err(KeyError::crypto)?),
    };
    Ok(Verifier { alg, verifier })
}

fn invalid(what: &str) -> KeyError {
    KeyError::InvalidToken(what.to_owned())
}

/// Verifies `token` with the key `select` picks from its header: the
/// header's `alg` must be one we know and equal the chosen key's.
pub(crate) fn verify_with<'a>(
    token: &str,
    select: impl Fn(&JwsHeader, Algorithm) -> Option<&'a Verifier>,
) -> Result<VerifiedJwt, KeyError> {
    // Three base64url parts; nothing else (JWE, unsecured `none`) is accepted.
    if token.split('.').count() != 3 || token.len() > 16 * 1024 {
        return Err(invalid("not a signed JWT"));
    }
    let (payload, header) = josekit::jwt::decode_with_verifier_selector(token, |header| {
        let alg = header.algorithm().and_then(Algorithm::parse);
        Ok(alg.and_then(|alg| select(header, alg).filter(|v| v.alg == alg)).map(|v| v.verifier.as_ref()))
    })
    .map_err(|e| KeyError::InvalidToken(e.to_string()))?;
    let alg = header.algorithm().and_then(Algorithm::parse).ok_or_else(|| invalid("unsupported alg"))?;
    Ok(VerifiedJwt {
        claims: payload.claims_set().clone(),
        alg,
        typ: header.token_type().map(str::to_owned),
        kid: header.key_id().map(str::to_owned),
    })
}

/// A client's registered public keys (a JWKS document), parsed.
#[derive(Debug, Clone)]
pub struct ClientKeys(Vec<(Option<String>, Verifier)>);

impl ClientKeys {
    /// Parses a JWKS document; keys of unknown algorithms or types are
    /// skipped, keys meant only for encryption (`use: enc`) too.
    pub fn parse(jwks: &str) -> Result<Self, KeyError> {
        let set = JwkSet::from_bytes(jwks.as_bytes()).map_err(|e| KeyError::InvalidToken(e.to_string()))?;
        let mut keys = Vec::new();
        for jwk in set.keys() {
            if jwk.key_use().is_some_and(|u| u != "sig") {
                continue;
            }
            let algs: Vec<Algorithm> = match jwk.algorithm().and_then(Algorithm::parse) {
                Some(alg) => vec![alg],
                None => match (jwk.key_type(), jwk.curve()) {
                    ("RSA", _) => vec![Algorithm::Rs256],
                    ("EC", Some("P-256")) => vec![Algorithm::Es256],
                    ("OKP", Some("Ed25519")) => vec![Algorithm::EdDsa],
                    _ => vec![],
                },
            };
            for alg in algs {
                if let Ok(v) = verifier(jwk, alg) {
                    keys.push((jwk.key_id().map(str::to_owned), v));
                }
            }
        }
        if keys.is_empty() {
            return Err(invalid("the JWKS has no usable signing key"));
        }
        Ok(Self(keys))
    }

    /// Verifies a JWT signed by one of these keys (matched by `kid` when the
    /// header names one, else by algorithm).
    pub fn verify(&self, token: &str) -> Result<VerifiedJwt, KeyError> {
        verify_with(token, |header, alg| {
            self.0
                .iter()
                .filter(|(_, v)| v.alg == alg)
                .find(|(kid, _)| match header.key_id() {
                    Some(wanted) => kid.as_deref() == Some(wanted),
                    None => true,
                })
                .map(|(_, v)| v)
        })
    }
}
