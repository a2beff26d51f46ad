//! Client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523, `jti` replay-checked) and `none` for public clients. Exactly
//! one method per request, and only the one the client registered.

use std::sync::Arc;

use portcullis_core::Issuer;
use portcullis_keys::ClientKeys;
use portcullis_store::Reservation;
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use crate::basic::basic_credentials;
use crate::context::{Ctx, ProtocolError, reject};
use crate::{Client, ClientId, OAuthError, TokenEndpointAuthMethod};

/// The assertion type of `private_key_jwt` (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Assertions may not claim to live longer than this (they are single use).
const MAX_ASSERTION_LIFETIME_SECS: i64 = 600;

/// The credentials a request carried, as received.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// From `Authorization: Basic`: (id, secret), already form-decoded.
    pub basic: Option<(String, String)>,
    /// `client_id` in the body.
    pub client_id: Option<String>,
    /// `client_secret` in the body.
    pub client_secret: Option<String>,
    /// `client_assertion_type`.
    pub client_assertion_type: Option<String>,
    /// `client_assertion`.
    pub client_assertion: Option<String>,
}

/// A failed client authentication: `invalid_client` (401, with
/// `WWW-Authenticate: Basic` when the client tried Basic), a malformed
/// request, or a client backing off after failures (429 with `Retry-After`).
#[derive(Debug)]
pub struct ClientAuthError {
    /// Why.
    pub error: ProtocolError,
    /// Whether the client used HTTP Basic (then the 401 names the scheme).
    pub used_basic: bool,
    /// The client is backing off until then: nothing was checked.
    pub refused_until: Option<OffsetDateTime>,
}

impl From<ProtocolError> for ClientAuthError {
    fn from(error: ProtocolError) -> Self {
        Self { error, used_basic: false, refused_until: None }
    }
}

/// Why a credential check did not run or did not pass.
enum Failure {
    Protocol(ProtocolError),
    Refused(OffsetDateTime),
}

impl From<ProtocolError> for Failure {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<portcullis_store::StoreError> for Failure {
    fn from(e: portcullis_store::StoreError) -> Self {
        Self::Protocol(e.into())
    }
}

fn invalid_client<T>(description: &'static str) -> Result<T, ProtocolError> {
    reject(OAuthError::InvalidClient, description)
}

/// Loads a client by id — from [`ctx.clients`](crate::ClientCache) while
/// fresh, else from the store; unknown or unparsable ids, and disabled
/// clients, are `invalid_client`. Every use of a client goes through here
/// (client authentication, authorization requests, logout), so a disabled
/// client is refused everywhere.
pub async fn load_client(ctx: &Ctx<'_>, id: &str) -> Result<Client, ProtocolError> {
    let client = cached_client(ctx, id).await?;
    if client.disabled {
        return invalid_client("the client is disabled");
    }
    Ok(client)
}

/// The client `id` as registered, disabled or not.
async fn cached_client(ctx: &Ctx<'_>, id: &str) -> Result<Client, ProtocolError> {
    if ClientId::parse(id).is_err() {
        return invalid_client("unknown client");
    }
    // Read before the row, so a change committed meanwhile outdates the entry.
    let generation = ctx.store.clients_generation();
    if let Some(client) = ctx.clients.get(id, ctx.now, generation) {
        return Ok(Client::clone(&client));
    }
    match ctx.store.find_client(id).await? {
        Some(record) => match Client::from_record(&record) {
            Ok(client) => {
                ctx.clients.put(Arc::new(client.clone()), ctx.now, generation);
                Ok(client)
            }
            Err(e) => {
                tracing::error!(client_id = id, error = %e, "stored client is invalid");
                invalid_client("the client's registration is invalid")
            }
        },
        None => invalid_client("unknown client"),
    }
}

/// The endpoint a client authenticates at, for the `aud` of its assertion.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// The token endpoint's URL (`<issuer>/token`), as published in discovery.
    pub token: &'a str,
    /// The URL of the endpoint being called (the token endpoint itself, or
    /// the introspection or revocation endpoint), as published in discovery.
    pub called: &'a str,
}

impl Endpoint<'_> {
    /// Whether an assertion's `aud` value names this server: exactly our
    /// issuer identifier, exactly the token endpoint URL, or exactly the URL
    /// of the endpoint being called. RFC 7523 §3 asks for a value that
    /// identifies the authorization server and names the token endpoint URL
    /// as one; OIDC Core §9 says the audience SHOULD be the token endpoint
    /// URL; introspection (RFC 7662) and revocation (RFC 7009) reuse the
    /// token endpoint's client authentication, so an assertion made for them
    /// may name them. Anything else — another endpoint of ours, or a URL that
    /// merely begins with the issuer (`https://id.example.com.attacker.example/token`,
    /// an assertion minted for another server) — is refused. Compared byte
    /// for byte, as the values are published.
    pub fn accepts_audience(&self, issuer: &str, aud: &str) -> bool {
        aud == issuer || aud == self.token || aud == self.called
    }
}

/// Authenticates the client of a request to `endpoint` with the one method
/// it used; the method must be the one the client registered.
///
/// Every secret or assertion check is throttled per client: the attempt is
/// reserved on the client's counter (`ctx.throttle`, in memory) before the
/// check, kept when it fails and given back when it passes, so parallel
/// guesses cannot slip past the limit.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn authenticate(
    ctx: &Ctx<'_>,
    creds: &ClientCredentials,
    endpoint: Endpoint<'_>,
) -> Result<Client, ClientAuthError> {
    let used_basic = creds.basic.is_some();
    authenticate_inner(ctx, creds, endpoint).await.map_err(|failure| match failure {
        Failure::Protocol(error) => ClientAuthError { error, used_basic, refused_until: None },
        Failure::Refused(until) => ClientAuthError {
            error: ProtocolError::Rejected {
                error: OAuthError::InvalidClient,
                description: "too many failed client authentications; try again later",
            },
            used_basic,
            refused_until: Some(until),
        },
    })
}
/// Runs `check` (true: the credential is right) as one throttled attempt of
/// `client`.
async fn throttled(
    ctx: &Ctx<'_>,
    client: &Client,
    check: impl AsyncFnOnce() -> Result<bool, ProtocolError>,
) -> Result<bool, Failure> {
    let key = format!("client:{}", client.client_id);
    if let Reservation::Refused { until } =
        ctx.throttle.reserve_attempt(&key, &ctx.config.client_lockout, ctx.now).await?
    {
        return Err(Failure::Refused(until));
    }
    let passed = check().await;
    if matches!(passed, Ok(true)) {
        ctx.throttle.release_attempt(&key).await?;
    }
    Ok(passed?)
}

async fn authenticate_inner(
    ctx: &Ctx<'_>,
    creds: &ClientCredentials,
    endpoint: Endpoint<'_>,
) -> Result<Client, Failure> {
    let methods = usize::from(creds.basic.is_some())
        + usize::from(creds.client_secret.is_some())
        + usize::from(creds.client_assertion.is_some() || creds.client_assertion_type.is_some());
    if methods > 1 {
        return Ok(reject(OAuthError::InvalidRequest, "use exactly one client authentication method")?);
    }
    if let Some((id, secret)) = &creds.basic {
        if creds.client_id.as_deref().is_some_and(|body| body != id) {
            return Ok(reject(
                OAuthError::InvalidRequest,
                "client_id differs from the authenticated client",
            )?);
        }
        return by_secret(ctx, id, secret, TokenEndpointAuthMethod::ClientSecretBasic).await;
    }
    if let Some(secret) = &creds.client_secret {
        let Some(id) = &creds.client_id else {
            return Ok(reject(OAuthError::InvalidRequest, "client_secret needs client_id")?);
        };
        return by_secret(ctx, id, secret, TokenEndpointAuthMethod::ClientSecretPost).await;
    }
    if creds.client_assertion.is_some() || creds.client_assertion_type.is_some() {
        return by_assertion(ctx, creds, endpoint).await;
    }
    let Some(id) = &creds.client_id else {
        return Ok(invalid_client("client authentication is required")?);
    };
    let client = load_client(ctx, id).await?;
    if client.token_endpoint_auth_method != TokenEndpointAuthMethod::None {
        return Ok(invalid_client("client authentication is required")?);
    }
    Ok(client)
}

async fn by_secret(
    ctx: &Ctx<'_>,
    id: &str,
    secret: &str,
    method: TokenEndpointAuthMethod,
) -> Result<Client, Failure> {
    let client = load_client(ctx, id).await?;
    // Verify before looking at the method, so both failures cost the same.
    let verified = throttled(ctx, &client, async || {
        Ok(client.verify_secret(secret, ctx.now) && client.token_endpoint_auth_method == method)
    })
    .await?;
    if !verified {
        return Ok(invalid_client("client authentication failed")?);
    }
    Ok(client)
}

async fn by_assertion(
    ctx: &Ctx<'_>,
    creds: &ClientCredentials,
    endpoint: Endpoint<'_>,
) -> Result<Client, Failure> {
    if creds.client_assertion_type.as_deref() != Some(JWT_BEARER) {
        return Ok(reject(OAuthError::InvalidRequest, "unsupported client_assertion_type")?);
    }
    let Some(assertion) = creds.client_assertion.as_deref() else {
        return Ok(reject(OAuthError::InvalidRequest, "client_assertion is required")?);
    };
    // The issuer names the client; the signature is checked with its keys below.
    let Some(id) = unverified_issuer(assertion).or_else(|| creds.client_id.clone()) else {
        return Ok(invalid_client("the assertion names no client")?);
    };
    let client = load_client(ctx, &id).await?;
    if client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return Ok(invalid_client("client authentication failed")?);
    }
    let mut refusal = None;
    let passed = throttled(ctx, &client, async || {
        match check_assertion(ctx, creds, &client, assertion, endpoint).await {
            Ok(()) => Ok(true),
            Err(ProtocolError::Rejected { error, description }) => {
                refusal = Some((error, description));
                Ok(false)
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    match refusal {
        Some((error, description)) if !passed => Ok(reject(error, description)?),
        _ => Ok(client),
    }
}

/// The checks of a `private_key_jwt` assertion for `client`: signature,
/// `iss`/`sub`, audience, lifetime, single use.
async fn check_assertion(
    ctx: &Ctx<'_>,
    creds: &ClientCredentials,
    client: &Client,
    assertion: &str,
    endpoint: Endpoint<'_>,
) -> Result<(), ProtocolError> {
    let keys = client.jwks.as_deref().and_then(|j| ClientKeys::parse(j).ok());
    let Some(verified) = keys.and_then(|k| k.verify(assertion).ok()) else {
        return invalid_client("the client assertion's signature is invalid");
    };
    let body_client_id = creds.client_id.as_deref();
    let (key, expires) =
        check_assertion_claims(&verified.claims, client, body_client_id, ctx.issuer, endpoint, ctx.now)?;
    if !ctx.store.record_jti(&key, ctx.now, expires).await? {
        return invalid_client("the assertion was already used");
    }
    Ok(())
}

/// The claim rules of a verified client assertion (RFC 7523 §3) for
/// `client` at `endpoint`, at `now`: `iss` and `sub` are the client,
/// `client_id` in the body (if any) agrees, `aud` is exactly us (see
/// [`Endpoint::accepts_audience`]), `exp` is near and `nbf` past, a `jti`.
/// Returns the key under which the `jti` is recorded and until when.
pub fn check_assertion_claims(
    claims: &Map<String, Value>,
    client: &Client,
    body_client_id: Option<&str>,
    issuer: &Issuer,
    endpoint: Endpoint<'_>,
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime), ProtocolError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    if text("iss") != Some(client.client_id.as_str()) || text("sub") != Some(client.client_id.as_str()) {
        return invalid_client("the assertion's iss and sub must be the client_id");
    }
    if body_client_id.is_some_and(|body| body != client.client_id.as_str()) {
        return reject(OAuthError::InvalidRequest, "client_id differs from the authenticated client");
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.iter().any(|aud| endpoint.accepts_audience(issuer.as_str(), aud)) {
        return invalid_client("the assertion's audience is not this server");
    }
    let unix_now = now.unix_timestamp();
    let Some(exp) = number("exp") else { return invalid_client("the assertion has no exp") };
    if exp <= unix_now || exp > unix_now + MAX_ASSERTION_LIFETIME_SECS {
        return invalid_client("the assertion is expired or lives too long");
    }
    if number("nbf").is_some_and(|nbf| nbf > unix_now + 60) {
        return invalid_client("the assertion is not valid yet");
    }
    let Some(jti) = text("jti").filter(|j| !j.is_empty() && j.len() <= 256) else {
        return invalid_client("the assertion has no jti");
    };
    let key = format!("assertion:{}:{jti}", client.client_id);
    let expires = OffsetDateTime::from_unix_timestamp(exp).unwrap_or(now);
    Ok((key, expires))
}

/// The `iss` of an unverified JWT (only to pick the keys to verify it with).
pub fn unverified_issuer(jwt: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iss")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn the_audience_must_be_exactly_the_issuer_or_an_endpoint_url() {
        let issuer = "https://id.example.com";
        let token =
            Endpoint { token: "https://id.example.com/token", called: "https://id.example.com/token" };
        let introspect =
            Endpoint { token: "https://id.example.com/token", called: "https://id.example.com/introspect" };
        for aud in [issuer, "https://id.example.com/token"] {
            assert!(token.accepts_audience(issuer, aud), "{aud}");
            assert!(introspect.accepts_audience(issuer, aud), "{aud}");
        }
        assert!(introspect.accepts_audience(issuer, "https://id.example.com/introspect"));
        for aud in [
            "https://id.example.com.attacker.example/token",
            "https://id.example.com/evil/token",
            "https://id.example.com/token/",
            "https://id.example.com/",
            "https://id.example.com/introspect",
            "https://ID.example.com/token",
            "",
        ] {
            assert!(!token.accepts_audience(issuer, aud), "{aud}");
        }
    }
}
