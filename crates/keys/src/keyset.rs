//! The keys in memory: the JWKS as precomputed bytes with a strong ETag, and
//! one parsed signer per algorithm, so signing never touches the store or
//! decrypts anything (ES256, the access tokens' algorithm, with a long-lived
//! OpenSSL key: see [`crate::es256`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsSigner, RS256};
use portcullis_store::{SigningKeyRow, SigningKeyState};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::es256::Es256Key;
use crate::material::public_jwk;
use crate::verify::{VerifiedJwt, Verifier, verifier, verify_with};
use crate::{Algorithm, Kek, KeyError, KeyMeta};

/// Signs JWTs with the active key of an algorithm, `kid` in the header.
pub trait TokenSigner: Send + Sync {
    /// Signs `claims` as a JWT of type `typ` (`JWT`, `at+jwt`) with `alg`.
    fn sign_jwt(&self, alg: Algorithm, typ: &str, claims: &Map<String, Value>) -> Result<String, KeyError>;
}

/// A parsed signer and its kid.
#[derive(Debug, Clone)]
struct Signer {
    kid: String,
    key: SigningKey,
}

/// A parsed private key.
#[derive(Clone)]
enum SigningKey {
    /// ES256: signs with a long-lived OpenSSL key, one `ECDSA_do_sign` per token.
    Es256(Es256Key),
    /// RS256 and EdDSA: through josekit.
    Other(Arc<dyn JwsSigner>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Es256(key) => std::fmt::Debug::fmt(key, f),
            Self::Other(signer) => write!(f, "JwsSigner({})", signer.algorithm().name()),
        }
    }
}

impl SigningKey {
    /// Signs a JWS signing input.
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            Self::Es256(key) => Ok(key.sign(input)?.to_vec()),
            Self::Other(signer) => signer.sign(input).map_err(KeyError::crypto),
        }
    }
}

/// One consistent view of the stored keys.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<KeyMeta>,
    /// Signers of staged and active keys, by kid (staged ones are parsed
    /// early so a bad key or a wrong KEK shows before it is needed).
    signers: HashMap<String, Signer>,
    active: HashMap<Algorithm, String>,
    /// Verifiers of every published key (staged, active, retired), by kid.
    verifiers: HashMap<String, Verifier>,
    jwks: Arc<[u8]>,
    etag: String,
    /// Tokens this set verified (SHA-256 of the token → the result): a
    /// signature is checked once per key set instead of once per request
    /// (userinfo and introspection see the same token many times). Only the
    /// signature is remembered; callers check expiry and revocation every
    /// time. A new set (rotation, revocation of a key) starts empty.
    verified: Arc<Mutex<HashMap<[u8; 32], VerifiedJwt>>>,
}

/// The most verified tokens a key set remembers (then it starts over).
const VERIFIED_CAPACITY: usize = 8192;

fn meta(row: &SigningKeyRow) -> Result<KeyMeta, KeyError> {
    Ok(KeyMeta {
        kid: row.kid.clone(),
        alg: Algorithm::parse(&row.alg).ok_or_else(|| KeyError::UnsupportedAlgorithm(row.alg.clone()))?,
        state: row.state,
        created_at: row.created_at,
        activates_at: row.activates_at,
        retired_at: row.retired_at,
    })
}

fn parse_signer(kek: &Kek, row: &SigningKeyRow, alg: Algorithm) -> Result<Signer, KeyError> {
    let plaintext = kek.open(&row.kid, &row.sealed_private_key)?;
    let jwk = Jwk::from_bytes(&plaintext).map_err(KeyError::crypto)?;
    let key = match alg {
        Algorithm::Rs256 => {
            SigningKey::Other(Arc::new(RS256.signer_from_jwk(&jwk).map_err(KeyError::crypto)?))
        }
        Algorithm::Es256 => SigningKey::Es256(Es256Key::from_jwk(&jwk)?),
        Algorithm::EdDsa => {
            SigningKey::Other(Arc::new(EdDSA.signer_from_jwk(&jwk).map_err(KeyError::crypto)?))
        }
    };
    Ok(Signer { kid: row.kid.clone(), key })
}

/// The JWKS bytes and their strong ETag.
fn document(keys: Vec<Value>) -> (Arc<[u8]>, String) {
    let jwks = serde_json::json!({ "keys": keys }).to_string().into_bytes();
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&jwks))[..32]);
    (Arc::from(jwks), etag)
}

impl KeySet {
    /// An empty set (before the first load).
    pub fn empty() -> Self {
        let (jwks, etag) = document(Vec::new());
        Self {
            keys: Vec::new(),
            signers: HashMap::new(),
            active: HashMap::new(),
            verifiers: HashMap::new(),
            jwks,
            etag,
            verified: Arc::default(),
        }
    }

    /// Builds the set from stored rows, unsealing the private keys of staged
    /// and active keys with `kek` — reusing the signers of `previous` for
    /// keys it already parsed.
    pub fn build(rows: &[SigningKeyRow], kek: &Kek, previous: Option<&KeySet>) -> Result<Self, KeyError> {
        let mut keys = Vec::with_capacity(rows.len());
        let mut signers = HashMap::new();
        for row in rows {
            let meta = meta(row)?;
            if matches!(meta.state, SigningKeyState::Staged | SigningKeyState::Active) {
                let signer = match previous.and_then(|p| p.signers.get(&row.kid)) {
                    Some(known) => known.clone(),
                    None => parse_signer(kek, row, meta.alg)?,
                };
                signers.insert(row.kid.clone(), signer);
            }
            keys.push(meta);
        }
        Self::from_parts(keys, signers, rows)
    }

    fn from_parts(
        keys: Vec<KeyMeta>,
        signers: HashMap<String, Signer>,
        rows: &[SigningKeyRow],
    ) -> Result<Self, KeyError> {
        let active = keys
            .iter()
            .filter(|k| k.state == SigningKeyState::Active)
            .map(|k| (k.alg, k.kid.clone()))
            .collect();
        let mut published = Vec::new();
        let mut verifiers = HashMap::new();
        for (row, meta) in rows.iter().zip(&keys) {
            if meta.state.is_published() {
                let jwk: Map<String, Value> = serde_json::from_str(&row.public_jwk)
                    .map_err(|e| KeyError::Crypto(format!("stored public key {}: {e}", row.kid)))?;
                // Filtered again: only public members can ever be served.
                let public = public_jwk(&jwk, &meta.kid, meta.alg);
                let parsed = Jwk::from_map(public.clone()).map_err(KeyError::crypto)?;
                verifiers.insert(meta.kid.clone(), verifier(&parsed, meta.alg)?);
                published.push(Value::Object(public));
            }
        }
        let (jwks, etag) = document(published);
        Ok(Self { keys, signers, active, verifiers, jwks, etag, verified: Arc::default() })
    }

    /// The metadata of stored rows (no unsealing).
    pub(crate) fn build_metadata(rows: &[SigningKeyRow]) -> Result<Vec<KeyMeta>, KeyError> {
        rows.iter().map(meta).collect()
    }

    /// Every stored key's metadata (no key material).
    pub fn keys(&self) -> &[KeyMeta] {
        &self.keys
    }

    /// The JWKS document, ready to serve.
    pub fn jwks(&self) -> Arc<[u8]> {
        self.jwks.clone()
    }

    /// A strong ETag of [`Self::jwks`] (quoted).
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// Verifies one of our own JWTs against the published keys (by `kid`);
    /// claims are not checked.
    pub fn verify_jwt(&self, token: &str) -> Result<VerifiedJwt, KeyError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.verified.lock().ok().and_then(|cache| cache.get(&digest).cloned()) {
            return Ok(hit);
        }
        let verified =
            verify_with(token, |header, _| header.key_id().and_then(|kid| self.verifiers.get(kid)))?;
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CAPACITY {
                cache.clear();
            }
            cache.insert(digest, verified.clone());
        }
        Ok(verified)
    }

    /// The kid that signs for `alg`, if any.
    pub fn active_kid(&self, alg: Algorithm) -> Option<&str> {
        self.active.get(&alg).map(String::as_str)
    }
}

impl TokenSigner for KeySet {
    fn sign_jwt(&self, alg: Algorithm, typ: &str, claims: &Map<String, Value>) -> Result<String, KeyError> {
        let signer =
            self.active.get(&alg).and_then(|kid| self.signers.get(kid)).ok_or(KeyError::NoActiveKey(alg))?;
        // The JWS compact serialization (RFC 7515 §7.1), written directly:
        // the claims are serialized once, never copied into a josekit payload.
        let header = serde_json::json!({ "alg": alg.as_str(), "kid": signer.kid, "typ": typ });
        let header = serde_json::to_vec(&header).map_err(|e| KeyError::Crypto(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Crypto(e.to_string()))?;
        let mut jwt = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 100);
        URL_SAFE_NO_PAD.encode_string(&header, &mut jwt);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
        let signature = signer.key.sign(jwt.as_bytes())?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
        Ok(jwt)
    }
}

/// The current [`KeySet`], replaced as a whole when the store changes.
/// Readers take an `Arc` and never wait for a refresh.
#[derive(Debug)]
pub struct LiveKeys(RwLock<Arc<KeySet>>);

impl LiveKeys {
    /// Starts with `set`.
    pub fn new(set: KeySet) -> Self {
        Self(RwLock::new(Arc::new(set)))
    }

    /// The set in effect.
    pub fn current(&self) -> Arc<KeySet> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Puts `set` in effect.
    pub fn replace(&self, set: KeySet) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(set);
    }
}

impl TokenSigner for LiveKeys {
    fn sign_jwt(&self, alg: Algorithm, typ: &str, claims: &Map<String, Value>) -> Result<String, KeyError> {
        self.current().sign_jwt(alg, typ, claims)
    }
}

#[cfg(test)]
mod tests;
