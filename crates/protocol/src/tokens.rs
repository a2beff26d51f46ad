//! Minting tokens: opaque secrets (codes, refresh tokens) stored as SHA-256,
//! RFC 9068 JWT access tokens and OIDC ID tokens, signed through the key set.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_keys::{Algorithm, KeyError, TokenSigner};
use portcullis_store::GrantRow;
use serde::Serialize;
use serde_json::{Map, json};
use sha2::{Digest, Sha256, Sha512};
use time::OffsetDateTime;

use crate::claims::{Subject, user_claims};
use crate::context::{Ctx, ProtocolError};
use crate::dpop::Jkt;
use crate::resource::Audience;
use crate::{Client, ScopeSet};

/// The `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The claim naming the grant an access token was issued from.
pub const GRANT_CLAIM: &str = "gid";

/// A new opaque secret: 256 random bits, base64url (43 characters).
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(portcullis_core::random::bytes::<32>())
}

/// The stored form of an opaque secret: SHA-256, hex.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The pad that seals a refresh token's successor: SHA-256 of the presented
/// token under its own label, so it is not the stored hash ([`secret_hash`]);
/// only whoever holds the presented token can compute it.
fn successor_pad(presented: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"portcullis refresh successor\0");
    h.update(presented.as_bytes());
    h.finalize().into()
}

/// `successor` (a [`new_secret`]) sealed with the token it replaces: XOR
/// with [`successor_pad`], base64url. Each presented token rotates once, so
/// its pad seals one successor only. `None` if `successor` is not a secret
/// of ours.
pub fn seal_successor(presented: &str, successor: &str) -> Option<String> {
    let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(successor).ok()?.try_into().ok()?;
    let pad = successor_pad(presented);
    Some(URL_SAFE_NO_PAD.encode(std::array::from_fn::<u8, 32, _>(|i| bytes[i] ^ pad[i])))
}

/// The successor [`seal_successor`] sealed, given the same presented token.
pub fn open_successor(presented: &str, sealed: &str) -> Option<String> {
    seal_successor(presented, sealed)
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the access
/// token, with the hash of the ID token's algorithm (SHA-512 for Ed25519).
pub fn at_hash(access_token: &str, alg: Algorithm) -> String {
    match alg {
        Algorithm::Rs256 | Algorithm::Es256 => {
            let digest = Sha256::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..16])
        }
        Algorithm::EdDsa => {
            let digest = Sha512::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..32])
        }
    }
}

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    /// The JWT access token.
    pub access_token: String,
    /// `DPoP` when the access token is bound to a key, else `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The granted scope.
    pub scope: String,
    /// A new refresh token, when the grant has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, for OpenID Connect grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Seconds since the epoch.
pub(crate) fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// A signed access token and its lifetime in seconds.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// The `token_type` of an access token bound to `jkt` or not (RFC 9449 §5).
pub fn token_type(jkt: Option<&Jkt>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}

/// Signs an RFC 9068 access token for `client`: about `sub` (a user, or the
/// client itself for `client_credentials`), for `scopes`, from `grant` when
/// user-bound (then with `sid`, `auth_time`, `acr`, `amr` and the grant id),
/// bound to the DPoP key `jkt` when given (`cnf.jkt`, RFC 9449 §6.1).
/// Its `audience` is the issuer (the provider's own token, for UserInfo),
/// or a resource server (RFC 8707): then `aud` is its identifier and the
/// lifetime and algorithm are its own when it sets them. The caller
/// narrows `scopes` to what the audience understands ([`Audience::scopes`]).
pub async fn access_token(
    ctx: &Ctx<'_>,
    client: &Client,
    sub: &str,
    scopes: &ScopeSet,
    grant: Option<&GrantRow>,
    audience: Audience<'_>,
    jkt: Option<&Jkt>,
) -> Result<AccessToken, ProtocolError> {
    let (aud, ttl_secs, alg) = match audience {
        Audience::Issuer => (ctx.issuer.as_str(), client.access_token_ttl_secs, ctx.config.access_token_alg),
        Audience::Resource(r) => (
            r.identifier.as_str(),
            r.access_token_ttl_secs.unwrap_or(client.access_token_ttl_secs),
            r.access_token_alg.unwrap_or(ctx.config.access_token_alg),
        ),
    };
    let mut exp = unix(ctx.now) + i64::from(ttl_secs);
    let mut claims = Map::with_capacity(12);
    claims.insert("iss".into(), json!(ctx.issuer.as_str()));
    claims.insert("sub".into(), json!(sub));
    claims.insert("aud".into(), json!(aud));
    claims.insert("client_id".into(), json!(client.client_id.as_str()));
    claims.insert("scope".into(), json!(scopes.to_string()));
    claims.insert("jti".into(), json!(portcullis_core::random::hex_id()));
    claims.insert("iat".into(), json!(unix(ctx.now)));
    if let Some(grant) = grant {
        // Nothing issued from a grant outlives it.
        exp = exp.min(unix(grant.expires_at));
        claims.insert("auth_time".into(), json!(unix(grant.auth_time)));
        if let Some(acr) = &grant.acr {
            claims.insert("acr".into(), json!(acr));
        }
        claims.insert("amr".into(), json!(grant.amr));
        if let Some(sid) = &grant.sid {
            claims.insert("sid".into(), json!(sid));
        }
        claims.insert(GRANT_CLAIM.into(), json!(grant.id));
    }
    if let Some(jkt) = jkt {
        claims.insert("cnf".into(), json!({ "jkt": jkt.as_str() }));
    }
    claims.insert("exp".into(), json!(exp));
    let token = sign(ctx, alg, ACCESS_TOKEN_TYP, claims).await?;
    Ok(AccessToken { token, expires_in: exp - unix(ctx.now) })
}

/// Signs an ID token (OIDC Core §2) for `client` about the grant's user.
pub async fn id_token(
    ctx: &Ctx<'_>,
    client: &Client,
    subject: Subject<'_>,
    grant: &GrantRow,
    scopes: &ScopeSet,
    nonce: Option<&str>,
    access_token: &str,
) -> Result<String, ProtocolError> {
    let alg = client.id_token_signed_response_alg.algorithm();
    let user = subject.user;
    let mut claims = user_claims(subject, scopes);
    claims.insert("iss".into(), json!(ctx.issuer.as_str()));
    claims.insert("sub".into(), json!(user.id.to_string()));
    claims.insert("aud".into(), json!(client.client_id.as_str()));
    claims.insert("azp".into(), json!(client.client_id.as_str()));
    let exp = (unix(ctx.now) + ctx.config.id_token_ttl.whole_seconds()).min(unix(grant.expires_at));
    claims.insert("exp".into(), json!(exp));
    claims.insert("iat".into(), json!(unix(ctx.now)));
    claims.insert("auth_time".into(), json!(unix(grant.auth_time)));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(acr) = &grant.acr {
        claims.insert("acr".into(), json!(acr));
    }
    claims.insert("amr".into(), json!(grant.amr));
    if let Some(sid) = &grant.sid {
        claims.insert("sid".into(), json!(sid));
    }
    claims.insert("at_hash".into(), json!(at_hash(access_token, alg)));
    sign(ctx, alg, "JWT", claims).await
}

/// Signs `claims` as a JWT. An algorithm that is slow to sign (RSA) signs
/// on tokio's blocking pool: on the request's event loop the signature would
/// stall every other request of that worker for as long — and with them the
/// database connections they hold, so that the single SQLite writer, handed
/// to a task whose worker is busy signing, sat idle (`docs/benchmarks.md`).
async fn sign(
    ctx: &Ctx<'_>,
    alg: Algorithm,
    typ: &'static str,
    claims: Map<String, serde_json::Value>,
) -> Result<String, ProtocolError> {
    if !alg.slow_to_sign() {
        return Ok(ctx.keys.sign_jwt(alg, typ, &claims)?);
    }
    let keys = std::sync::Arc::clone(ctx.keys);
    match tokio::task::spawn_blocking(move || keys.sign_jwt(alg, typ, &claims)).await {
        Ok(signed) => Ok(signed?),
        Err(e) => Err(KeyError::Crypto(format!("the signing task failed: {e}")).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core appendix A.3: RS256, access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", Algorithm::Rs256),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash("x", Algorithm::EdDsa).len(), 43);
    }

    #[test]
    fn a_successor_opens_only_with_the_token_it_replaced() {
        let (old, next, other) = (new_secret(), new_secret(), new_secret());
        let sealed = seal_successor(&old, &next).expect("a secret of ours");
        assert_ne!(sealed, next, "not stored in the clear");
        assert_ne!(sealed, secret_hash(&old));
        assert_eq!(open_successor(&old, &sealed).as_deref(), Some(next.as_str()));
        assert_ne!(open_successor(&other, &sealed).as_deref(), Some(next.as_str()));
        assert_eq!(seal_successor(&old, "not base64 !"), None);
        assert_eq!(seal_successor(&old, "c2hvcnQ"), None, "not 32 bytes");
    }

    #[test]
    fn secrets_are_256_bit_and_hash_to_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
